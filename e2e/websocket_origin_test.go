package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestCrossOriginWebSocketRefused: a browser sends the session cookie
// (SameSite=Lax) with a WebSocket handshake from any page of the same site,
// another port or a sibling host included, and a WebSocket, unlike a
// fetch, is not held to CORS: that page read and wrote the user's
// WebSocket, the application seeing the user's identity headers
// (cross-site WebSocket hijacking). A handshake authenticated by the
// session cookie whose Origin is not one of the gateway's is now refused
// with 403 before the application is contacted; the gateway's own origin
// still opens it.
func TestCrossOriginWebSocketRefused(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	var upgrades atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			upgrades.Add(1)
		}
		echoWebSocket(w, r)
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), wsConfig(p, up.URL, "", ""))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)

	// Same site, another origin: what a page on another port of the
	// gateway's host, or on a sibling host, sends.
	for _, origin := range []string{"http://127.0.0.1:1", "null", "http://evil.example"} {
		resp, body, _, _ := wsHandshake(t, gw, "/app/ws", ck, origin)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "alice") {
			t.Errorf("Origin %s: %d %q, want 403 naming no one", origin, resp.StatusCode, body)
		}
	}
	if n := upgrades.Load(); n != 0 {
		t.Errorf("the application got %d cross-origin handshakes, want none", n)
	}
	// The gateway's own page, and a client that is no page (no Origin).
	for _, origin := range []string{gw.URL, ""} {
		resp, _, conn, br := wsHandshake(t, gw, "/app/ws", ck, origin)
		if resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("Origin %q: %d, want 101", origin, resp.StatusCode)
		}
		wsEcho(t, conn, br)
	}
}

// wsHandshake sends a WebSocket handshake for path to gw with ck and
// origin (none when ""), as a browser does, and returns the answer, its
// body when it is no 101, and the connection.
func wsHandshake(t *testing.T, gw *gateway, path string, ck *http.Cookie, origin string) (*http.Response, string, net.Conn, *bufio.Reader) {
	t.Helper()
	conn, host := dialGateway(t, gw)
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: " + ck.Name + "=" + ck.Value + "\r\n"
	if origin != "" {
		req += "Origin: " + origin + "\r\n"
	}
	_, _ = io.WriteString(conn, req+"\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return resp, "", conn, br
	}
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b), conn, br
}

// TestCrossOriginWebSocketRefusedBehindFront is
// TestCrossOriginWebSocketRefused in forward-auth: each documented front
// proxy passes the handshake's Origin to the gateway, which refuses (403)
// a handshake of the user's session from another origin, so the front
// proxy never hands it to the app; one from the front's own origin is let
// through.
func TestCrossOriginWebSocketRefusedBehindFront(t *testing.T) {
	t.Parallel()
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			own := signedInBehindFront(t, s)
			handshake := func(origin string) int {
				return rawStatus(t, s.front, "GET /hello HTTP/1.1\r\nHost: "+s.front+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: "+origin+
					"\r\nCookie: "+strings.Join(own, "; ")+"\r\n\r\n")
			}
			before := s.up.count()
			if status := handshake("http://127.0.0.1:1"); status != http.StatusForbidden || s.up.count() != before {
				t.Errorf("a handshake from another origin: %d, app reached %d times; want 403 and none", status, s.up.count()-before)
			}
			if handshake("http://" + s.front); s.up.count() != before+1 {
				t.Errorf("a handshake from the front's own origin: app reached %d times, want once", s.up.count()-before)
			}
		})
	}
}

// TestWildcardRedirectHostOpensNoWebSocket: allowed_redirect_hosts
// "*.example.test" (the chart's ingress example lists "*.example.com")
// says where a sign-in may return, every subdomain at once; it vouched for
// a WebSocket's page too, so a page on any sibling host (a blog, a
// user-content host) opened the user's WebSocket, the very attack
// TestCrossOriginWebSocketRefused closes. Only an entry that names the
// page's host itself now does.
func TestWildcardRedirectHostOpensNoWebSocket(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	t.Cleanup(up.Close)
	cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Server: `allowed_redirect_hosts = ["*.example.test", "app.example.test"]`,
		Routes: demoRoutes + "\n[[routes]]\npath = \"/app/**\"\n\n[[routes]]\npath = \"/**\"\n"}
	gw := startGateway(t, pickAddrs(t), cfg.String())
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)

	resp, body, _, _ := wsHandshake(t, gw, "/app/ws", ck, "http://blog.example.test")
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "alice") {
		t.Errorf("Origin of a host only a wildcard entry covers: %d %q, want 403 naming no one", resp.StatusCode, body)
	}
	// A host listed by name is one of the gateway's.
	resp, _, conn, br := wsHandshake(t, gw, "/app/ws", ck, "http://app.example.test")
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("Origin of a listed host: %d, want 101", resp.StatusCode)
	}
	wsEcho(t, conn, br)
}
