package proxy

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/idp"
)

// signInOver signs in through start (with opts) and the callback with a
// browser that presents the session cookies old to both (a copy, where the
// start cleared them), and returns the callback's answer.
func signInOver(t *testing.T, f *fixture, old []*http.Cookie, opts ...reqOption) *http.Response {
	t.Helper()
	state, states := startLogin(t, f, "/oauth2/start?rd=%2Fapp%2Fx", append(opts, withCookies(old))...)
	return f.do(t, "GET", "/oauth2/callback?code=c0de&state="+url.QueryEscape(state), nil,
		withCookies(append(append([]*http.Cookie{}, old...), states...)), browser())
}

// fromAnotherSite is a start of a sign-in by a link on another site, which
// does not end the browser's session (the callback's sign-in replaces it).
var fromAnotherSite = withHeader("Sec-Fetch-Site", "cross-site")

// TestSignInOverSessionEndsIt: a browser with a live session of bob signs
// in again (start, then the callback) and becomes alice. The replaced
// session ended without a trace: no log line, its refresh token left
// valid at the provider (orphaned). It now ends as a sign-out ends it: at
// the start (which clears the session; its token is kept at the provider,
// whose grant the next sign-in, most often the same user's, shares, and
// refused here), or, for a start from another site, which does not, at the
// successful callback, where another user's token is revoked: its Redis
// record removed, and one line names bob and what became of the token, and
// no token or cookie; a copy of the cookie at the callback ends nothing
// more.
func TestSignInOverSessionEndsIt(t *testing.T) {
	for _, c := range []struct {
		name  string
		start []reqOption
	}{{"cookie", nil}, {"redis", nil}, {"cookie from another site", []reqOption{fromAnotherSite}},
		{"redis from another site", []reqOption{fromAnotherSite}}} {
		revoked, outcome := []string{"rt-bob-old"}, "revoked"
		if c.start == nil {
			revoked, outcome = nil, "kept"
		}
		store := strings.Fields(c.name)[0]
		t.Run(c.name, func(t *testing.T) {
			var logs syncBuffer
			var addr string
			opts := []fixtureOption{withDebugLog(&logs)}
			if store == "redis" {
				opts = append(opts, redisAt(t, &addr))
			}
			f := newFixture(t, opts...)
			s := f.session()
			s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-old"
			old := saveToStore(t, f.cfg.Sessions, s)
			resp := signInOver(t, f, old, c.start...)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/x" {
				t.Fatalf("callback = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !slices.Equal(f.prov.revoked, revoked) {
				t.Errorf("revoked %q, want %q", f.prov.revoked, revoked)
			}
			if !f.h.refresher.dead("rt-bob-old") {
				t.Error("the replaced session's refresh token is not refused here")
			}
			lines := logLines(logs.String(), "proxy: session replaced by a new sign-in")
			if len(lines) != 1 || !strings.Contains(lines[0], "sub=bob refresh_token="+outcome) {
				t.Errorf("replaced lines %q:\n%s", lines, logs.String())
			}
			if store == "redis" {
				if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusUnauthorized {
					t.Errorf("a copy of the replaced session's cookie: %d, want 401", r.StatusCode)
				}
			}
			logHoldsNone(t, logs.String(), old, "rt-bob-old")
		})
	}
}

// TestFailedSignInKeepsTheSession: a sign-in started from another site,
// which does not end the session, that fails at the callback (the
// provider refuses the code) leaves that session as it was: usable, its
// token not revoked, nothing logged as replaced.
func TestFailedSignInKeepsTheSession(t *testing.T) {
	var logs syncBuffer
	var addr string
	f := newFixture(t, withDebugLog(&logs), redisAt(t, &addr))
	f.prov.exchangeErr = idp.ErrCodeRefused
	old := saveToStore(t, f.cfg.Sessions, f.session())
	if resp := signInOver(t, f, old, fromAnotherSite); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback with a refused code = %d, want 400", resp.StatusCode)
	}
	if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusOK {
		t.Errorf("the session after a failed sign-in over it: %d, want 200", r.StatusCode)
	}
	if len(f.prov.revoked) != 0 || len(logLines(logs.String(), "proxy: session replaced")) != 0 {
		t.Errorf("a failed sign-in revoked %q or logged a replacement:\n%s", f.prov.revoked, logs.String())
	}
}

// TestSignInOverSameUserKeepsTheGrant: the same provider user signs in
// again over their session, started from another site (a start of the
// gateway's own ends it before anyone signs in, and revokes it: the new
// sign-in makes a new grant). Its record ends and the line is written, but
// the refresh token is not revoked at the provider: at Google (and Auth0,
// Keycloak before 26.1) the old and new tokens share one grant, and the
// revocation ended the new session at its first refresh. The gateway
// refuses the old token from now on.
func TestSignInOverSameUserKeepsTheGrant(t *testing.T) {
	var logs syncBuffer
	var addr string
	f := newFixture(t, withDebugLog(&logs), redisAt(t, &addr))
	f.prov.identity.ProviderSubject = "alice"
	s := f.session()
	s.RefreshToken = "rt-alice-old"
	if resp := signInOver(t, f, saveToStore(t, f.cfg.Sessions, s), fromAnotherSite); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d", resp.StatusCode)
	}
	if len(f.prov.revoked) != 0 {
		t.Errorf("revoked %q: the same user's grant", f.prov.revoked)
	}
	lines := logLines(logs.String(), "proxy: session replaced by a new sign-in")
	if len(lines) != 1 || !strings.Contains(lines[0], "sub=alice refresh_token=same_user") {
		t.Errorf("replaced lines %q", lines)
	}
	if !f.h.refresher.dead("rt-alice-old") {
		t.Error("the replaced session's refresh token is not refused here")
	}
}

// TestSignInOverStaleCookieEndsNothing: a cookie that does not open (sealed
// with another secret) is no session: the sign-in over it revokes nothing
// and logs no replacement.
func TestSignInOverStaleCookieEndsNothing(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	other := newFixture(t)
	stale := other.cookies(t, other.session())
	if resp := signInOver(t, f, stale); resp.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d", resp.StatusCode)
	}
	if len(f.prov.revoked) != 0 || len(logLines(logs.String(), "proxy: session replaced")) != 0 {
		t.Errorf("a stale cookie's sign-in revoked %q or logged a replacement:\n%s", f.prov.revoked, logs.String())
	}
}
