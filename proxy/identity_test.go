package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// nearExpiry returns cookies of a session whose access token expires in
// expiresIn (inside the 1-minute refresh margin when small).
func nearExpiry(t *testing.T, f *fixture, expiresIn time.Duration) []*http.Cookie {
	t.Helper()
	s := f.session()
	s.Expiry = f.clock.Now().Add(expiresIn)
	return f.cookies(t, s)
}

func TestRefreshSingleFlight(t *testing.T) {
	f := newFixture(t)
	gate := make(chan struct{})
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		if rt != "rt-0" {
			return nil, nil, fmt.Errorf("refresh with %q", rt)
		}
		<-gate
		return &idp.Tokens{AccessToken: "at-new", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	cookies := nearExpiry(t, f, 10*time.Second)
	const n = 50
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			statuses <- f.do(t, "GET", "/app/x", nil, withCookies(cookies)).StatusCode
		})
	}
	// Let every request reach the single flight before the provider answers.
	time.Sleep(100 * time.Millisecond)
	close(gate)
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != 200 {
			t.Fatalf("a request got %d", st)
		}
	}
	if got := f.prov.refreshes.Load(); got != 1 {
		t.Fatalf("Provider.Refresh calls = %d, want 1", got)
	}
	// A late request still carrying the old cookie reuses the result: the
	// (possibly rotated) refresh token is never presented twice.
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("late request: %d, refreshes %d", resp.StatusCode, f.prov.refreshes.Load())
	}
	if at := f.up.last(t).Header.Get("X-Forwarded-User"); at != "alice" {
		t.Errorf("identity after refresh = %q", at)
	}
}

func TestRefreshOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		expiresIn  time.Duration
		err        error
		opts       []reqOption
		wantStatus int
		wantClear  bool
	}{
		{"invalid_grant ends the session (API)", 30 * time.Second, idp.ErrInvalidGrant, nil, 401, true},
		{"invalid_grant ends the session (browser)", 30 * time.Second, idp.ErrInvalidGrant, []reqOption{browser()}, 302, true},
		{"provider down, token still valid", 30 * time.Second, errors.New("dial tcp: connection refused"), nil, 200, false},
		{"provider down, token expired: the session ends", -time.Second, errors.New("dial tcp: connection refused"), nil, 401, true},
		{"refreshed", 30 * time.Second, nil, nil, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
				if tt.err != nil {
					return nil, nil, tt.err
				}
				return &idp.Tokens{AccessToken: "at-new", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
			}
			resp := f.do(t, "GET", "/app/x", nil, append([]reqOption{withCookies(nearExpiry(t, f, tt.expiresIn))}, tt.opts...)...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			c := responseCookies(resp)["portcullis"]
			if cleared := c != nil && c.MaxAge < 0; cleared != tt.wantClear {
				t.Errorf("session cleared = %v, want %v", cleared, tt.wantClear)
			}
			if tt.err != nil || tt.wantStatus != 200 {
				return
			}
			s, err := f.storedSession(liveCookies(resp))
			if err != nil {
				t.Fatal(err)
			}
			old := f.session()
			if s.AccessToken != "at-new" || s.RefreshToken != "rt-0" || !s.ExpiresAt.Equal(old.ExpiresAt) {
				t.Errorf("refreshed session: at %q rt %q eol %v (want at-new, the old rt, eol %v)", s.AccessToken, s.RefreshToken, s.ExpiresAt, old.ExpiresAt)
			}
		})
	}
}

func TestExpiredTokenWithoutRefreshIsNoIdentity(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Refresh = false })
	resp := f.do(t, "GET", "/app/x", nil, withCookies(nearExpiry(t, f, -time.Second)))
	if resp.StatusCode != http.StatusUnauthorized || f.prov.refreshes.Load() != 0 {
		t.Fatalf("status = %d, refreshes %d", resp.StatusCode, f.prov.refreshes.Load())
	}
}

// lockingStore adds a cross-replica lock to the cookie store, standing in
// for the redis store.
type lockingStore struct {
	session.Store
	locks, unlocks int
	acquired       bool
	events         []string // "save" and "unlock", in order
	// replaced, when set, is what Load returns once the lock is taken: the
	// session as another replica refreshed it meanwhile.
	replaced, current *session.Session
}

func (s *lockingStore) Load(r *http.Request) (*session.Session, error) {
	if s.current != nil {
		return s.current, nil
	}
	return s.Store.Load(r)
}

func (s *lockingStore) Lock(ctx context.Context, id string, ttl time.Duration) (func(), bool, error) {
	s.locks++
	s.current = s.replaced
	return func() { s.unlocks++; s.events = append(s.events, "unlock") }, s.acquired, nil
}

func (s *lockingStore) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	s.events = append(s.events, "save")
	return s.Store.Save(w, r, sess)
}

func TestRefreshTakesTheStoreLock(t *testing.T) {
	ls := &lockingStore{acquired: true}
	f := newFixture(t, func(c *Config) { ls.Store = c.Sessions; c.Sessions = ls })
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-new", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	s := f.session()
	s.ID = "sid-redis" // the cookie store ignores it; the lock is keyed by it
	s.Expiry = f.clock.Now().Add(10 * time.Second)
	resp := f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
	if resp.StatusCode != 200 || ls.locks != 1 || ls.unlocks != 1 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("status %d, locks %d, unlocks %d, refreshes %d", resp.StatusCode, ls.locks, ls.unlocks, f.prov.refreshes.Load())
	}
	// Saved before the lock is released, once: another replica that takes
	// the lock next loads the refreshed session, never the old refresh token.
	if fmt.Sprint(ls.events) != "[save unlock]" {
		t.Errorf("store events = %v, want [save unlock]", ls.events)
	}
}

// TestRefreshedSessionNeedsItsOwnRefresh: the result of a refresh is reused
// only for requests that still carry the session it replaced. A refreshed
// session that nears expiry soon after (short-lived access tokens) is
// refreshed again, not handed the remembered, now stale, result.
func TestRefreshedSessionNeedsItsOwnRefresh(t *testing.T) {
	f := newFixture(t)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		n := f.prov.refreshes.Load()
		return &idp.Tokens{AccessToken: fmt.Sprintf("at-%d", n), Expiry: f.clock.Now().Add(70 * time.Second)}, &f.prov.identity, nil
	}
	resp := f.do(t, "GET", "/app/x", nil, withCookies(nearExpiry(t, f, 10*time.Second)))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("first refresh: %d, refreshes %d", resp.StatusCode, f.prov.refreshes.Load())
	}
	refreshed := liveCookies(resp)
	f.clock.Advance(15 * time.Second) // the new token is now within the 1-minute margin
	resp = f.do(t, "GET", "/app/x", nil, withCookies(refreshed))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 2 {
		t.Fatalf("refreshed session near expiry: %d, refreshes %d, want 2", resp.StatusCode, f.prov.refreshes.Load())
	}
	s, err := f.storedSession(liveCookies(resp))
	if err != nil || s.AccessToken != "at-2" {
		t.Fatalf("session after the second refresh: %+v, %v", s, err)
	}
}

// TestRefreshRechecksUnderTheLock: a replica that gets the lock after another
// one refreshed the session (between its Load and its Lock) uses the stored
// result instead of presenting the spent refresh token.
func TestRefreshRechecksUnderTheLock(t *testing.T) {
	ls := &lockingStore{acquired: true}
	f := newFixture(t, func(c *Config) { ls.Store = c.Sessions; c.Sessions = ls })
	s := f.session()
	s.ID = "sid-redis"
	s.Expiry = f.clock.Now().Add(10 * time.Second)
	ls.replaced = s.Clone()
	ls.replaced.AccessToken, ls.replaced.Expiry = "at-other-replica", f.clock.Now().Add(time.Hour)
	resp := f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 0 || ls.unlocks != 1 {
		t.Fatalf("status %d, refreshes %d, unlocks %d; want 200 without a refresh", resp.StatusCode, f.prov.refreshes.Load(), ls.unlocks)
	}
}

// TestRefreshSeenWhenTheAccessTokenStays: another replica's refresh is
// recognised by any of the tokens or the expiry it changed, not by the
// access token alone: a provider may answer a refresh with the access
// token it had issued (still valid) and a new refresh token. Then the
// replica that gets the lock next did present the spent refresh token
// again, and one that did not get it waited refreshTimeout for a change
// that had come.
func TestRefreshSeenWhenTheAccessTokenStays(t *testing.T) {
	for _, acquired := range []bool{true, false} {
		ls := &lockingStore{acquired: acquired}
		f := newFixture(t, func(c *Config) { ls.Store = c.Sessions; c.Sessions = ls })
		s := f.session()
		s.ID = "sid-redis"
		s.Expiry = f.clock.Now().Add(10 * time.Second)
		ls.replaced = s.Clone()
		ls.replaced.RefreshToken, ls.replaced.Expiry = "rt-other-replica", f.clock.Now().Add(time.Hour)
		start := time.Now()
		resp := f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
		took := time.Since(start)
		if resp.StatusCode != 200 || f.prov.refreshes.Load() != 0 || took > refreshTimeout/2 {
			t.Errorf("lock acquired %v: status %d, refreshes %d, took %v; want 200 at once without a refresh",
				acquired, resp.StatusCode, f.prov.refreshes.Load(), took)
		}
	}
}

func TestHasAccessTokenParam(t *testing.T) {
	for in, want := range map[string]bool{
		"":                          false,
		"a=1&b=2":                   false,
		"access_token=x":            true,
		"a=1&access_token=x":        true,
		"a=1;access_token=x":        true,
		"access%5Ftoken=x":          true,
		"%61ccess_token=x":          true,
		"ACCESS_TOKEN=x":            true,
		"acce\u017fs_token=x":       true, // a raw long s: s to Go's encoding/json and EqualFold
		"access_to\u212aen=x":       true, // a raw Kelvin sign: k
		"access_token":              true,
		"x=access_token":            false,
		"q=100%&access_tokens=1":    false,
		"q=%zz&%61ccess%5ftoken=1":  true,
		"redirect=%2Faccess_token%": false,
		"access.token=x":            true,
		"access+token=x":            true,
		"access%20token=x":          true,
		"access_token[]=x":          true,
		"access_token%00x=x":        true,
		"access.tokens=x":           false,
		"access%u005Ftoken=x":       true,
		"%u0061ccess%u005ftoken=x":  true,
		"access%U005Ftoken%u0000=x": true,
		"access%u5Ftoken=x":         false,
		"access%u005Ftokens=x":      false,
	} {
		if got := hasAccessTokenParam(in); got != want {
			t.Errorf("hasAccessTokenParam(%q) = %v, want %v", in, got, want)
		}
	}
}

// TestRefreshKeepsTheSignInIDToken: the ID token a refresh returns need not
// carry a nonce, and with the default audiences it would pass as a bearer
// access token; the sign-out's id_token_hint, which lands in URLs, stays
// the sign-in's ID token.
func TestRefreshKeepsTheSignInIDToken(t *testing.T) {
	f := newFixture(t)
	f.prov.endSession = "https://idp.test/logout"
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-new", IDToken: "idt-refreshed", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	resp := f.do(t, "GET", "/app/x", nil, withCookies(nearExpiry(t, f, 10*time.Second)))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("refreshing request: %d, %d refreshes", resp.StatusCode, f.prov.refreshes.Load())
	}
	out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(liveCookies(resp)))
	loc, err := url.Parse(out.Header.Get("Location"))
	if err != nil || out.StatusCode != 302 {
		t.Fatalf("sign-out: %d %v", out.StatusCode, err)
	}
	if hint := loc.Query().Get("id_token_hint"); hint != "idt-0" {
		t.Errorf("id_token_hint = %q, want the sign-in's idt-0", hint)
	}
}

// TestAccessTokenNameWithMalformedEscape: PHP decodes a parameter name
// leniently (a malformed escape stays as it is) and ends it at a NUL, so
// "access_token%00%zz" is access_token to it. The name was decoded with
// url.QueryUnescape, which refuses the whole name for its "%zz", and then
// compared undecoded: the NUL was never seen and the token went through.
func TestAccessTokenNameWithMalformedEscape(t *testing.T) {
	for _, q := range []string{"access_token%00%zz=x", "access%2Etoken%00%=x", "%61ccess+token%00%g=x"} {
		if !hasAccessTokenParam(q) {
			t.Errorf("hasAccessTokenParam(%q) = false, PHP reads access_token", q)
		}
	}
	f := newFixture(t)
	alice := withCookies(f.cookies(t, f.session()))
	before := f.up.count()
	resp := f.do(t, "GET", "/app/x?access_token%00%zz=x", nil, alice)
	_ = readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || f.up.count() != before {
		t.Errorf("status %d, forwarded %v; want 400 and nothing forwarded", resp.StatusCode, f.up.count() != before)
	}
}
