package e2e

import (
	"strings"
	"testing"
)

// traefikBehindLBStatic is traefikStatic with the entry point trusting the
// X-Forwarded-* headers of the peer that connects (127.0.0.0/8): Traefik
// behind a load balancer or CDN (forwardedHeaders.trustedIPs), where it
// keeps the X-Forwarded-* headers that peer passes on.
var traefikBehindLBStatic = strings.Replace(traefikStatic, "    address: \"%[1]s\"\n",
	"    address: \"%[1]s\"\n    forwardedHeaders:\n      trustedIPs: [\"127.0.0.0/8\"]\n", 1)

// startTraefikBehindLB is startTraefik with traefikBehindLBStatic.
func startTraefikBehindLB(tb testing.TB, listen, gateway, app string) {
	if !strings.Contains(traefikBehindLBStatic, "trustedIPs") {
		tb.Fatal("traefikStatic no longer has the entry point's address line")
	}
	runTraefik(tb, traefikBehindLBStatic, listen, gateway, app)
}

// TestTraefikBehindTrustedProxyKeepsClaimsFromApp: Traefik behind a load
// balancer it trusts (forwardedHeaders.trustedIPs) keeps the X-Forwarded-*
// headers that peer passes on, and a load balancer that sets only
// X-Forwarded-For, -Proto and -Port passes a client's others unchanged.
// forwardAuth (trustForwardHeader: false) decides the request Traefik
// received, and the app must not see another host, path prefix, port, path
// or method than that one, as in proxy mode and behind the other snippets.
// Before: the app received each of them with the client's value
// (X-Forwarded-Host: evil.test, X-Forwarded-Uri: /admin/x, ...).
func TestTraefikBehindTrustedProxyKeepsClaimsFromApp(t *testing.T) {
	t.Parallel() // its own Traefik, gateway, provider and app
	s := behindFront(t, "127.0.0.1/32", startTraefikBehindLB)
	sent := map[string]string{"X-Forwarded-Host": "evil.test", "X-Forwarded-Prefix": "/spoofed-prefix",
		"X-Forwarded-Port": "8443", "X-Forwarded-Uri": "/admin/x", "X-Forwarded-Method": "DELETE"}
	appKeepsDecided(t, s, sent)
}
