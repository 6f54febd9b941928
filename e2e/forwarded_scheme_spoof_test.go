package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestClientSchemeClaimOpensNoWebSocket replays the fronts' published
// forwarded-scheme advisories at the one decision the gateway takes on
// the request's own scheme and port in forward-auth, a WebSocket's Origin:
// Traefik derived the X-Forwarded-Port it sends the authentication service
// from a client's X-Forwarded-Proto (CVE-2026-54764, 443 over plain HTTP),
// passed an underscore alias of the forwarded headers on to it
// (CVE-2026-39858), and let a client's Connection header remove the
// X-Forwarded-* headers it set (CVE-2024-45410). Through each documented
// front, alice's handshake over plain HTTP from the https origin of the
// front's own host, carrying every such claim, is refused (403) and never
// reaches the app; without the claims, one from the front's own origin
// still opens. Through the fronts, the fronts decide: each sets or drops
// the forwarded headers, so none reaches the gateway as the client spelt
// it. The gateway's own guard is that the request's own origin takes
// public_url's scheme, never a forwarded one (fromOrigins):
// schemeClaimRefusedByGateway sends the claim as a front that passed it
// on would.
func TestClientSchemeClaimOpensNoWebSocket(t *testing.T) {
	t.Parallel()
	claims := []string{"X-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\nX-Forwarded-Ssl: on\r\n",
		"Connection: Upgrade, X-Forwarded-Proto, X-Forwarded-Host\r\n",
		"X-Forwarded-Proto: https\r\nConnection: Upgrade, X-Forwarded-Port\r\n",
		"Forwarded: proto=https;host=\"%s\"\r\n"}
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			own := signedInBehindFront(t, s)
			host, _, _ := strings.Cut(s.front, ":")
			handshake := func(origin, extra string) int {
				conn := "Connection: Upgrade\r\n"
				if strings.Contains(extra, "Connection:") {
					conn = ""
				}
				return rawStatus(t, s.front, "GET /hello HTTP/1.1\r\nHost: "+s.front+"\r\nUpgrade: websocket\r\n"+conn+extra+
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: "+origin+
					"\r\nCookie: "+strings.Join(own, "; ")+"\r\n\r\n")
			}
			for _, origin := range []string{"https://" + s.front, "https://" + host} {
				for _, c := range claims {
					c = strings.ReplaceAll(c, "%s", s.front)
					before := s.up.count()
					if status := handshake(origin, c); status != http.StatusForbidden || s.up.count() != before {
						t.Errorf("Origin %s with %q: %d, app reached %d times; want 403 and none",
							origin, strings.TrimSpace(c), status, s.up.count()-before)
					}
				}
			}
			before := s.up.count()
			if handshake("http://"+s.front, ""); s.up.count() != before+1 {
				t.Errorf("a handshake from the front's own origin: app reached %d times, want once", s.up.count()-before)
			}
			if front.name == "traefik" { // the test's own address is a trusted peer of this gateway
				schemeClaimRefusedByGateway(t, s, own)
			}
		})
	}
}

// schemeClaimRefusedByGateway asks the gateway's forward-auth, from a
// trusted peer, about alice's handshake with X-Forwarded-Proto https: from
// the https origin of the front's host it is refused (403), and from its
// http origin (the control) allowed.
func schemeClaimRefusedByGateway(t *testing.T, s frontSetup, own []string) {
	t.Helper()
	for origin, want := range map[string]int{"https://" + s.front: http.StatusForbidden, "http://" + s.front: http.StatusOK} {
		status, _ := send(t, http.DefaultClient, "GET", s.gw.URL+"/oauth2/auth", map[string]string{
			"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/hello", "X-Forwarded-Host": s.front,
			"X-Forwarded-Proto": "https", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
			"Origin": origin, "Cookie": strings.Join(own, "; ")})
		if status != want {
			t.Errorf("forward-auth of a handshake from %s with X-Forwarded-Proto https: %d, want %d", origin, status, want)
		}
	}
}
