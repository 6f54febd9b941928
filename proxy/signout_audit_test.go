package proxy

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/session"
)

// TestSignOutStoreFailureLogged: a sign-out whose session Redis refuses
// to end (an ACL without write commands, as a READONLY replica or an
// out-of-memory Redis refuses them) is a 503 whose refresh token is
// revoked all the same. The log said nothing of it: no "signed out"
// line, so an investigation saw neither the revoked grant nor that a
// session the user meant to end is still in the store. It now has its
// line, at warn, naming the user and what became of the token, and no
// token or cookie; the 503's request line names the user too (user="").
func TestSignOutStoreFailureLogged(t *testing.T) {
	var logs syncBuffer
	var addr string
	f := newFixture(t, withDebugLog(&logs), redisAt(t, &addr))
	s := f.session()
	s.RefreshToken = "rt-store-refused"
	cookies := saveToStore(t, f.cfg.Sessions, s)
	setRedisACL(t, addr, "-@write")
	resp := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusServiceUnavailable || len(f.prov.revoked) != 1 {
		t.Fatalf("status %d, revoked %q; want 503 and the refresh token revoked", resp.StatusCode, f.prov.revoked)
	}
	lines := logLines(logs.String(), "proxy: signed out, but the session store could not end the session")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=WARN") ||
		!strings.Contains(lines[0], "sub=alice refresh_token=revoked") || !strings.Contains(lines[0], "NOPERM") {
		t.Fatalf("lines %q:\n%s", lines, logs.String())
	}
	if req := logLines(logs.String(), "request"); len(req) != 1 || !strings.Contains(req[0], "user=alice") {
		t.Errorf("the 503's request line does not name the user: %q", req)
	}
	logHoldsNone(t, logs.String(), cookies, "rt-store-refused")
}

// logHoldsNone fails t if log holds the value of one of cookies or one of
// the tokens.
func logHoldsNone(t *testing.T, log string, cookies []*http.Cookie, tokens ...string) {
	t.Helper()
	for _, c := range cookies {
		if strings.Contains(log, c.Value) {
			t.Errorf("the log holds the cookie %s", c.Name)
		}
	}
	for _, tok := range tokens {
		if strings.Contains(log, tok) {
			t.Errorf("the log holds the token %q", tok)
		}
	}
}

// TestRefusedLineSaysSessionCookieStale: a request whose session was
// ended (`sessions revoke`, a back-channel logout, a sign-out with
// another copy of the cookie) was logged exactly as one that sent no
// cookie, refused or sent to sign in, so that an operator could not tell
// a revoked session from a browser that never sent its cookie. Its line
// now has session_cookie=stale, which names no session and no token.
func TestRefusedLineSaysSessionCookieStale(t *testing.T) {
	var logs syncBuffer
	var addr string
	f := newFixture(t, withDebugLog(&logs), redisAt(t, &addr))
	st := f.cfg.Sessions.(*session.RedisStore)
	s := f.session()
	s.Identity.ProviderSubject = "alice-at-the-provider"
	revoked := saveToStore(t, st, s)
	if n, err := st.DeleteBySubject(context.Background(), s.Identity.Issuer, s.Identity.ProviderSubject); err != nil || n != 1 {
		t.Fatalf("revoke: %d sessions, %v", n, err)
	}
	signedOut := saveToStore(t, st, f.session())
	if resp := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(signedOut)); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		name   string
		opts   []reqOption
		status int
		stale  bool
	}{
		{"revoked", []reqOption{withCookies(revoked)}, 401, true},
		{"revoked, a browser", []reqOption{withCookies(revoked), browser()}, 302, true},
		{"signed out elsewhere", []reqOption{withCookies(signedOut)}, 401, true},
		{"no cookie", nil, 401, false},
		{"another cookie", []reqOption{withHeader("Cookie", "theme=dark")}, 401, false},
		// A sign-in under way (or abandoned) left its login-state cookie,
		// which is no session's: this browser never had one.
		{"a login's state cookie", []reqOption{withHeader("Cookie", "portcullis_login_abc=x")}, 401, false},
	} {
		before := len(logs.String())
		if resp := f.do(t, "GET", "/app/x", nil, c.opts...); resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.name, resp.StatusCode, c.status)
		}
		lines := logLines(logs.String()[before:], "request")
		if len(lines) != 1 || strings.Contains(lines[0], "session_cookie=stale") != c.stale {
			t.Errorf("%s: lines %q, want session_cookie=stale: %v", c.name, lines, c.stale)
		}
	}
	logHoldsNone(t, logs.String(), append(revoked, signedOut...))
}
