package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// An open WebSocket was decided once, when it opened: a reload whose rules
// refuse it, or the user's removal from the group its route requires, left
// it open to the session's lifetime. The gateway now decides it again at
// every recheck (10 s).

// wsConfig is a cookie-store gateway in front of echoWebSocket, with
// appRule as the keys of its /app/** route.
func wsConfig(p *oidctest.Provider, upstreamURL, session, appRule string) string {
	return tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Session: session,
		Upstream: upstreamURL, Routes: demoRoutes + "\n[[routes]]\npath = \"/app/**\"\n" + appRule + "\n[[routes]]\npath = \"/**\"\n"}.String()
}

// closedWithin waits up to d for the gateway to close conn and says how
// long it took.
func closedWithin(t *testing.T, br interface{ ReadString(byte) (string, error) }, d time.Duration) (time.Duration, bool) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if _, err := br.ReadString('\n'); err == io.EOF {
			return time.Since(start), true
		} else if err != nil {
			return time.Since(start), false
		}
	}
	return d, false
}

func TestWebSocketEndsWhenReloadDeniesIt(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	t.Cleanup(up.Close)
	a := pickAddrs(t)
	gw := startGateway(t, a, wsConfig(p, up.URL, "", ""))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	conn, br := dialWebSocket(t, gw, ck)

	gw.rewrite(t, a, wsConfig(p, up.URL, "", `allow_groups = ["ops"]`))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	_ = conn.SetReadDeadline(time.Now().Add(25 * time.Second))
	took, closed := closedWithin(t, br, 25*time.Second)
	if !closed {
		t.Fatalf("the WebSocket outlived a reload whose rules refuse it\n%s", gw.Proc.Output())
	}
	t.Logf("closed %v after the reload", took.Round(time.Second))
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/x", ck, false); status != http.StatusForbidden {
		t.Errorf("a request of the session after the reload: %d, want 403", status)
	}
}

func TestWebSocketEndsWhenGroupRemoved(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 65 * time.Second})
	up := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), wsConfig(p, up.URL, redisSession(rs.URL()), ""))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	conn, br := dialWebSocketAt(t, gw, "/admin/ws", ck)

	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": []string{"staff"}, "sid": "sid-alice"}})
	// The access token is due for a refresh 5 s after the sign-in; the
	// recheck refreshes it (the only traffic is the WebSocket's) and
	// decides /admin/ws again with the groups the provider states now.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	took, closed := closedWithin(t, br, 30*time.Second)
	if !closed {
		t.Fatalf("the WebSocket of /admin/** outlived its user's removal from admins\n%s", gw.Proc.Output())
	}
	t.Logf("closed %v after the removal", took.Round(time.Second))
	if status, _, _ := withCookie(t, "GET", gw.URL+"/admin/x", ck, false); status != http.StatusForbidden {
		t.Errorf("a request of the session after the removal: %d, want 403", status)
	}
}
