package proxy

import (
	"net/http"
	"strings"
	"testing"
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
	for _, c := range cookies {
		if strings.Contains(logs.String(), c.Value) {
			t.Errorf("the log holds the cookie %s", c.Name)
		}
	}
	if strings.Contains(logs.String(), "rt-store-refused") {
		t.Error("the log holds the refresh token")
	}
}
