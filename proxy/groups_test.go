package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/idp/directory"
)

// directoryProvider is the fake provider with a directory whose answer the
// test sets.
type directoryProvider struct {
	*fakeProvider
	mu     sync.Mutex
	groups []string
	err    error
	calls  int
	tokens []string
}

func (p *directoryProvider) DirectoryGroups(_ context.Context, id *portcullis.Identity, at string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	p.tokens = append(p.tokens, at)
	return slices.Clone(p.groups), p.err
}

func (p *directoryProvider) set(groups []string, err error) {
	p.mu.Lock()
	p.groups, p.err = groups, err
	p.mu.Unlock()
}

func (p *directoryProvider) count() int { p.mu.Lock(); defer p.mu.Unlock(); return p.calls }

func directoryFixture(t *testing.T) (*fixture, *directoryProvider) {
	t.Helper()
	f := newFixture(t)
	dp := &directoryProvider{fakeProvider: f.prov}
	f.cfg.Provider, f.cfg.GroupsRefresh = dp, 10*time.Minute
	var err error
	if f.h, err = New(f.cfg); err != nil {
		t.Fatal(err)
	}
	return f, dp
}

// TestGroupsRefresh: directory groups are read again after groups_refresh,
// so a member removed from a group loses access then, and not before.
func TestGroupsRefresh(t *testing.T) {
	f, dp := directoryFixture(t)
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	dp.set([]string{"staff"}, nil) // removed from admins at the directory

	f.clock.Advance(9 * time.Minute)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != 200 || dp.count() != 0 {
		t.Fatalf("within groups_refresh: status %d, directory asked %d times", resp.StatusCode, dp.count())
	}
	f.clock.Advance(2 * time.Minute)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusForbidden || dp.count() != 1 || dp.tokens[0] != "at-0" {
		t.Fatalf("after groups_refresh: status %d, directory asked %d times with %q", resp.StatusCode, dp.count(), dp.tokens)
	}
	cookies = liveCookies(resp)
	ns, err := f.storedSession(cookies)
	if err != nil || !slices.Equal(ns.Identity.Groups, []string{"staff"}) || !ns.GroupsReadAt.Equal(f.clock.Now()) {
		t.Fatalf("stored session: %+v %v", ns, err)
	}
	if resp := f.do(t, "GET", "/app/", nil, withCookies(cookies)); resp.StatusCode != 200 || dp.count() != 1 {
		t.Errorf("fresh groups read again: status %d, %d calls", resp.StatusCode, dp.count())
	}
}

// TestGroupsRefreshFailureKeepsLastGroups: a directory that is down after
// login leaves the session its last groups, and is not asked on every
// request.
func TestGroupsRefreshFailureKeepsLastGroups(t *testing.T) {
	f, dp := directoryFixture(t)
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	dp.set(nil, errors.New("idp: graph directory: connection refused"))

	f.clock.Advance(11 * time.Minute)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode != 200 || dp.count() != 1 {
		t.Fatalf("directory down: status %d, %d calls", resp.StatusCode, dp.count())
	}
	cookies = liveCookies(resp)
	f.clock.Advance(10 * time.Second)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != 200 || dp.count() != 1 {
		t.Fatalf("retried too soon: status %d, %d calls", resp.StatusCode, dp.count())
	}
	f.clock.Advance(groupsRetry)
	dp.set([]string{"staff"}, nil)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusForbidden || dp.count() != 2 {
		t.Fatalf("after the retry wait: status %d, %d calls", resp.StatusCode, dp.count())
	}
}

// TestGroupsFromTokensAreNotReRead: sessions whose groups came from the
// tokens never ask the directory.
func TestGroupsFromTokensAreNotReRead(t *testing.T) {
	f, dp := directoryFixture(t)
	cookies := f.cookies(t, f.session())
	f.clock.Advance(30 * time.Minute)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != 200 || dp.count() != 0 {
		t.Errorf("status %d, %d calls", resp.StatusCode, dp.count())
	}
}

// TestLoginFailsWhenDirectoryIsDown: never an identity without its groups.
func TestLoginFailsWhenDirectoryIsDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		text   string
	}{
		{"directory down", &idp.DirectoryError{Source: "google", Err: errors.New("connection refused")}, http.StatusBadGateway,
			"your group memberships could not be read from the directory"},
		{"github sso", &idp.DirectoryError{Source: "github", Hint: "A GitHub organisation you belong to enforces SAML single sign-on", Err: errors.New("sso")},
			http.StatusBadGateway, "enforces SAML single sign-on"},
		{"hosted domain", fmt.Errorf("%w: it belongs to \"evil.com\"", idp.ErrHostedDomain), http.StatusForbidden,
			"not an account of the organisation&#39;s Google Workspace domain"},
		{"group with a comma", fmt.Errorf("idp: claim groups cannot be forwarded in a header: %w: \"Sales, EMEA\"", idp.ErrAmbiguousList),
			http.StatusForbidden, "one of your groups has a comma in its name"},
		{"groups not in the token", idp.ErrGroupsElsewhere, http.StatusForbidden, "too many groups to list in its token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.exchangeErr = tc.err
			state, cookies := startLogin(t, f, "/app/")
			resp := f.do(t, "GET", "/oauth2/callback?code=a&state="+state, nil, withCookies(cookies), browser())
			body := readBody(t, resp)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			if c := responseCookies(resp)["portcullis"]; c != nil && c.MaxAge >= 0 {
				t.Fatal("a failed login set a session cookie")
			}
		})
	}
}

// TestGroupsRefreshTokenRefusedEndsSession: a directory that refuses the
// user's own token (revoked app) ends the session instead of keeping its
// groups until the lifetime.
func TestGroupsRefreshTokenRefusedEndsSession(t *testing.T) {
	f, dp := directoryFixture(t)
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	dp.set(nil, &idp.DirectoryError{Source: "github", TokenRefused: true, Err: errors.New("status 401")})
	f.clock.Advance(11 * time.Minute)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusUnauthorized || dp.count() != 1 {
		t.Fatalf("status %d, %d calls; want 401 (no session)", resp.StatusCode, dp.count())
	}
	if c := responseCookies(resp)["portcullis"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("session cookie not cleared: %+v", c)
	}
}

// TestGroupsThrottleWaitIsNotLoggedPerSession: while a directory's throttle
// lasts, each session's skipped read keeps its groups without a warning
// (idp logged the throttle once, with its end); a read that failed is
// still a warning.
func TestGroupsThrottleWaitIsNotLoggedPerSession(t *testing.T) {
	var logs bytes.Buffer
	f := newFixture(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	dp := &directoryProvider{fakeProvider: f.prov}
	f.cfg.Provider, f.cfg.GroupsRefresh = dp, 10*time.Minute
	var err error
	if f.h, err = New(f.cfg); err != nil {
		t.Fatal(err)
	}
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	waiting := &idp.DirectoryError{Source: "github", Err: &directory.ThrottledError{Source: "github", Until: f.clock.Now().Add(time.Hour)}}
	dp.set(nil, waiting)
	f.clock.Advance(11 * time.Minute)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode != 200 || dp.count() != 1 {
		t.Fatalf("throttled: status %d, %d calls", resp.StatusCode, dp.count())
	}
	if strings.Contains(logs.String(), "reading groups from the directory failed") {
		t.Errorf("a skipped read was a warning:\n%s", logs.String())
	}
	dp.set(nil, &idp.DirectoryError{Source: "github", Err: errors.New("connection refused")})
	f.clock.Advance(groupsRetry)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(liveCookies(resp))); resp.StatusCode != 200 || dp.count() != 2 {
		t.Fatalf("down: status %d, %d calls", resp.StatusCode, dp.count())
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"proxy: reading groups from the directory failed") {
		t.Errorf("a failed read was no warning:\n%s", logs.String())
	}
}

// TestGroupsOverUsersBudgetEndsSession: a user whose own directory reads
// are over their budget (idp.ErrUserReadBudget) cannot keep their last
// groups with it, as a session does through an outage: a user removed from
// a group who signed in again and again to spend their budget kept the
// group for up to groupsMaxStale instead of groups_refresh. Past
// groups_refresh and the budget's minute the session ends; only that user
// is affected, and only by their own reads.
func TestGroupsOverUsersBudgetEndsSession(t *testing.T) {
	f, dp := directoryFixture(t)
	s := f.session()
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	dp.set(nil, &idp.DirectoryError{Source: "google", Err: fmt.Errorf("%w: none before then", idp.ErrUserReadBudget)})
	// Within groups_refresh and the budget's window: the groups read then
	// stay (an active session with a short groups_refresh spends the
	// budget on its own, TestShortGroupsRefreshKeepsAnActiveSession).
	f.clock.Advance(10*time.Minute + 30*time.Second)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d within groups_refresh and a minute; want 200 with the last groups", resp.StatusCode)
	}
	f.clock.Advance(90 * time.Second)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d; want 401: the session ended, not kept with its last groups", resp.StatusCode)
	}
}
