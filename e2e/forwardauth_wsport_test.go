package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestForwardAuthWebSocketOriginPort: behind nginx and Caddy, whose
// snippets named the original host without its port ($host, {host}), the
// gateway compared a WebSocket's Origin with the host at its scheme's
// default port. A page a browser loaded from a front on a port of its own
// (the gateway's public URL on another) had its WebSocket refused (403),
// which proxy mode opens; and a page of the same host at the default port,
// another origin, opened it. The snippets now name the port the browser's
// Host carried, so the page's own origin opens it and another port of the
// host is refused, as in proxy mode. It runs behind every documented front:
// Traefik's X-Forwarded-Host and ingress-nginx's X-Original-URL carry the
// port too.
func TestForwardAuthWebSocketOriginPort(t *testing.T) {
	t.Parallel()
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			own := signedInBehindFront(t, s)
			// A second front of the same snippet, at another port of the
			// same host: the browser sends it the session cookie, which
			// names no port.
			page := testenv.Addr(testenv.FreePort(t))
			front.start(t, page, strings.TrimPrefix(s.gw.URL, "http://"), strings.TrimPrefix(s.up.URL, "http://"))
			handshake := func(origin string) (int, int) {
				before := s.up.count()
				status := rawStatus(t, page, "GET /hello HTTP/1.1\r\nHost: "+page+"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: "+origin+
					"\r\nCookie: "+strings.Join(own, "; ")+"\r\n\r\n")
				return status, s.up.count() - before
			}
			if status, n := handshake("http://" + page); status == http.StatusForbidden || n != 1 {
				t.Errorf("a handshake from the page's own origin: %d, app reached %d times; want it reached once", status, n)
			}
			for _, other := range []string{"http://127.0.0.1", "http://127.0.0.1:1"} {
				if status, n := handshake(other); status != http.StatusForbidden || n != 0 {
					t.Errorf("a handshake from %s to %s: %d, app reached %d times; want 403 and none", other, page, status, n)
				}
			}
		})
	}
}
