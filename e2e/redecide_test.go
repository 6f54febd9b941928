package e2e

import (
	"bufio"
	"io"
	"net"
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
	wantClosedThenRefused(t, gw, conn, br, 25*time.Second, "/app/x", ck, "a reload whose rules refuse it")
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
	wantClosedThenRefused(t, gw, conn, br, 30*time.Second, "/admin/x", ck, "its user's removal from admins")
}

// TestCookieCopyAfterSignOut measures the cookie store's documented bound
// for a copy of the cookie made before a sign-out on replica A: it is
// still accepted on B while its access token is not due (the cookie store
// has no server-side record to end), and refused on A and B from the
// first request after that, since the sign-out revoked its refresh token.
func TestCookieCopyAfterSignOut(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 8 * time.Second})
	up := newUpstream(t)
	cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Session: "refresh_margin = \"2s\"\n", Routes: demoRoutes + "\n[[routes]]\npath = \"/**\"\n"}.String()
	gwA := startGateway(t, pickAddrs(t), cfg)
	gwB := startGateway(t, pickAddrs(t), cfg)
	c := browser(t)
	loginThrough(t, c, gwA, "alice")
	loggedIn := time.Now()
	ck := sessionCookie(t, c, gwA)
	b := &http.Cookie{Name: ck.Name, Value: ck.Value}

	if status, _, _ := withCookie(t, "GET", gwA.URL+"/oauth2/sign_out?rd=/public/bye", ck, true); status != http.StatusFound {
		t.Fatalf("sign_out on A: %d", status)
	}
	if status, _, _ := withCookie(t, "GET", gwB.URL+"/app/copy", b, false); status != http.StatusOK {
		t.Errorf("the copy on B before its access token is due: %d, want 200 (the documented bound)", status)
	}
	sleepUntil(loggedIn.Add(6500 * time.Millisecond)) // due for a refresh, not expired
	before := up.count()
	for _, gw := range []*gateway{gwA, gwB} {
		if status, _, _ := withCookie(t, "GET", gw.URL+"/app/copy", b, false); status != http.StatusUnauthorized {
			t.Errorf("the copy on %s once its access token is due: %d, want 401", gw.URL, status)
		}
	}
	if up.count() != before {
		t.Error("the copy reached the upstream after its refresh token was revoked")
	}
}

// wantClosedThenRefused waits up to within for the WebSocket on conn to be
// closed after what (a change that refuses it), then checks that a request
// of the session for path is refused with 403.
func wantClosedThenRefused(t *testing.T, gw *gateway, conn net.Conn, br *bufio.Reader, within time.Duration, path string, ck *http.Cookie, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	took, closed := closedWithin(t, br, within)
	if !closed {
		t.Fatalf("the WebSocket outlived %s\n%s", what, gw.Proc.Output())
	}
	t.Logf("closed %v after %s", took.Round(time.Second), what)
	if status, _, _ := withCookie(t, "GET", gw.URL+path, ck, false); status != http.StatusForbidden {
		t.Errorf("a request of the session after %s: %d, want 403", what, status)
	}
}
