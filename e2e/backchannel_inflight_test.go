package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// pausedLogin has c ask gw for path, which starts a login, and stops before
// the callback: it returns the callback URL the provider sent the browser
// to, as when the user has signed in at the provider and the browser has
// not yet reached the gateway.
func pausedLogin(t *testing.T, c *http.Client, gw *gateway, path string) string {
	t.Helper()
	stop := *c
	stop.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/oauth2/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	status, _, resp := get(t, &stop, gw.URL+path)
	loc := resp.Header.Get("Location")
	if status != http.StatusFound || !strings.Contains(loc, "/oauth2/callback?") {
		t.Fatalf("login through %s: %d to %q, want a redirect to the callback", gw.URL, status, loc)
	}
	return loc
}

// TestBackchannelLogoutDuringLogin: a logout token that reaches the gateway
// while a login of the provider session it names is under way (the user
// signed in at the provider; the browser has not reached the callback yet,
// or the code exchange is still running) ends that login too. Before, the
// logout found no session to end, and the callback then created one for the
// provider session just ended, which lived on to its access token's expiry
// or to session.lifetime. A logout by sid refuses the sign-in of that
// provider session; one by sub every sign-in of the user begun before it.
// A sign-in begun after the logout is not affected, and neither is one of
// another provider session. The replica that completes the sign-in need not
// be the one that received the logout token.
func TestBackchannelLogoutDuringLogin(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL()))
	gwA, gwB := startGateway(t, pickAddrs(t), cfg), startGateway(t, pickAddrs(t), cfg)

	// Each sign-in at the provider is a provider session of its own.
	signInAs := func(sid string) {
		p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com",
			"email_verified": true, "preferred_username": "alice", "groups": []any{"admins"}, "sid": sid}})
	}
	for i, tc := range []struct{ name, sub, sid string }{
		{"by sid", "", "sid-0"},
		{"by sub", "alice", ""},
	} {
		signInAs("sid-" + strconv.Itoa(i))
		c := browser(t)
		callback := pausedLogin(t, c, gwB, "/app/home")
		if status, body, _ := postLogout(t, gwA, p.LogoutToken(tc.sub, tc.sid, nil)); status != 200 {
			t.Fatalf("%s: logout token: %d %s", tc.name, status, body)
		}
		status, body, resp := get(t, c, callback)
		if status == 200 && resp.Request.URL.Path == "/app/home" {
			t.Errorf("%s: a login under way when its provider session was logged out was completed:\n%s", tc.name, body)
		} else if status != http.StatusForbidden || !strings.Contains(body, "signed out at the identity provider") {
			t.Errorf("%s: the refused sign-in: %d, want 403 with the sign-in failure page\n%s", tc.name, status, body)
		}
		if n := len(rs.Client().Keys(t.Context(), "portcullis:s:*").Val()); n != 0 {
			// by sub: the session of the sign-in after the first case's logout is ended too.
			t.Errorf("%s: %d sessions in Redis after the refused sign-in", tc.name, n)
		}
		// A sign-in begun after the logout is a new provider session.
		signInAs("sid-after-" + strconv.Itoa(i))
		loginThrough(t, browser(t), gwB, "alice")
	}

	// A logout of another provider session leaves this one's sign-in alone.
	signInAs("sid-last")
	c := browser(t)
	callback := pausedLogin(t, c, gwB, "/app/home")
	if status, body, _ := postLogout(t, gwA, p.LogoutToken("", "sid-other", nil)); status != 200 {
		t.Fatalf("logout token of another sid: %d %s", status, body)
	}
	if status, _, resp := get(t, c, callback); status != 200 || resp.Request.URL.Path != "/app/home" {
		t.Errorf("the sign-in of another provider session: %d at %s, want 200 at /app/home", status, resp.Request.URL)
	}
}
