package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestWebSocketEndsWithTheSessionItOpenedWith: an upgraded connection is
// watched for the session it was opened with, which the application goes
// on serving it as. The stores read the first cookie of the session's name
// that opens (of the first four), so a client that sent a second one, a
// session of another user it holds, kept a WebSocket opened as alice open
// after alice's session was ended: the recheck read bob's session, found
// bob allowed, and the application kept serving the connection as alice.
// docs/sessions.md promises that a sign-out, `sessions revoke` or a
// back-channel logout closes an open WebSocket within 10 s.
func TestWebSocketEndsWithTheSessionItOpenedWith(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := newWebSocketUpstream(t)
	cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up, redisSession(rs.URL()))
	gw := startGateway(t, pickAddrs(t), cfg)

	ends := []struct {
		name string
		end  func(t *testing.T, alice *http.Cookie)
	}{
		{"back-channel logout of alice", func(t *testing.T, _ *http.Cookie) {
			if status, body, _ := postLogout(t, gw, p.LogoutToken("alice", "", nil)); status != http.StatusOK {
				t.Fatalf("back-channel logout: %d %s", status, body)
			}
		}},
		{"alice's sign-out", func(t *testing.T, alice *http.Cookie) {
			if status, _, _ := withCookie(t, "GET", gw.URL+"/oauth2/sign_out", alice, true); status != http.StatusFound {
				t.Fatalf("sign-out: %d", status)
			}
		}},
	}
	for _, e := range ends {
		p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com",
			"email_verified": true, "preferred_username": "alice", "groups": []string{"admins"}}})
		ca := browser(t)
		loginThrough(t, ca, gw, "alice")
		alice := sessionCookie(t, ca, gw)
		p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{"email": "bob@example.com",
			"email_verified": true, "preferred_username": "bob"}})
		cb := browser(t)
		loginThrough(t, cb, gw, "bob")
		bob := sessionCookie(t, cb, gw)

		// One Cookie header with both: alice's first, so she opens it.
		both := &http.Cookie{Name: alice.Name, Value: alice.Value + "; " + bob.Name + "=" + bob.Value}
		conn, br := dialWebSocket(t, gw, both)
		e.end(t, alice)
		if status, _, _ := withCookie(t, "GET", gw.URL+"/app/after", alice, false); status != http.StatusUnauthorized {
			t.Fatalf("%s: alice's cookie right after it: %d, want 401", e.name, status)
		}
		took := timeToClose(conn, br, 25*time.Second)
		t.Logf("%s: closed %v after it", e.name, took.Round(100*time.Millisecond))
		if took > 15*time.Second {
			t.Errorf("%s: the WebSocket opened as alice, with bob's cookie after hers, closed %v after her "+
				"session ended (at all: %v), want within 10 s", e.name, took.Round(100*time.Millisecond), took < 25*time.Second)
		}
	}
}
