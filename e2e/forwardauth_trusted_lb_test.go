package e2e

import (
	"strings"
	"testing"
)

// startCaddyBehindLB is startCaddy with forward_auth and the app's
// reverse_proxy trusting the X-Forwarded-* headers of the peer that
// connects (trusted_proxies 127.0.0.0/8): Caddy behind a load balancer or
// CDN, where it keeps the X-Forwarded-Host, -Proto and -For that peer
// passes on instead of setting its own.
func startCaddyBehindLB(tb testing.TB, listen, gateway, app string) {
	const trust = "\n\t\t\t\ttrusted_proxies 127.0.0.0/8"
	runCaddy(tb, listen, "dash.example.com {", "http://"+listen+" {",
		"uri /oauth2/auth", "uri /oauth2/auth"+trust,
		"reverse_proxy 127.0.0.1:3000 {", "reverse_proxy "+app+" {"+trust,
		"127.0.0.1:4180", gateway)
}

// lbSpoofs are the X-Forwarded-* headers a cloud load balancer passes on
// from a client: it sets X-Forwarded-For, -Proto and -Port itself.
var lbSpoofs = map[string]string{"X-Forwarded-Host": "evil.test", "X-Forwarded-Prefix": "/spoofed-prefix",
	"X-Forwarded-Uri": "/admin/x", "X-Forwarded-Method": "DELETE"}

// behindLBCase checks a front proxy that trusts the test's own address as
// its load balancer: the gateway decides the request the front proxy
// routes (hostileCase: a client's X-Forwarded-Host or -Uri never makes it
// decide a laxer one), and appKeepsDecided holds for lbSpoofs.
func behindLBCase(t *testing.T, s frontSetup, userHeader string) {
	t.Helper()
	hostileCase(t, "http://"+s.front, userHeader, s.p, s.up)
	appKeepsDecided(t, s, lbSpoofs)
}

// appKeepsDecided sends spoofs, the forwarding headers a load balancer
// passes on from a client, on a public and on a signed-in request, and
// checks that the app gets the Host decided and none of them.
func appKeepsDecided(t *testing.T, s frontSetup, spoofs map[string]string) {
	t.Helper()
	for _, path := range []string{"/public/x", "/hello"} {
		c := browser(t)
		if path == "/hello" {
			c, _ = signInBob(t, s.p, "http://"+s.front)
		}
		before := s.up.count()
		if status, _ := send(t, c, "GET", "http://"+s.front+path, spoofs); status != 200 || s.up.count() != before+1 {
			t.Fatalf("GET %s: %d, the app got %d requests", path, status, s.up.count()-before)
		}
		got := s.up.last()
		for k, v := range spoofs {
			if strings.Contains(strings.Join(got.Headers.Values(k), ","), v) {
				t.Errorf("GET %s: the app received the client's %s: %s", path, k, v)
			}
		}
		// nginx's $host has no port.
		name, _, _ := strings.Cut(s.front, ":")
		if got.Host != s.front && got.Host != name {
			t.Errorf("GET %s: the app received Host %q, want %q", path, got.Host, s.front)
		}
	}
}

// TestCaddyBehindTrustedProxyKeepsClaimsFromApp: Caddy with
// trusted_proxies keeps a trusted peer's X-Forwarded-Host, and a load
// balancer passes a client's on. forward_auth's header_up sets the
// gateway's from {host}, the host Caddy routed by; the app's reverse_proxy
// must too, else the app sees another host than the one decided.
func TestCaddyBehindTrustedProxyKeepsClaimsFromApp(t *testing.T) {
	t.Parallel() // its own Caddy, gateway, provider and app
	s := behindFront(t, "127.0.0.1/32", startCaddyBehindLB)
	behindLBCase(t, s, "X-Forwarded-User")
}

// startNginxBehindLB is startNginx with the real_ip module trusting the
// test's own address as its load balancer (set_real_ip_from,
// real_ip_header X-Forwarded-For): only $remote_addr changes, and the
// snippet sets X-Forwarded-Host from $host for the gateway and the app.
func startNginxBehindLB(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	host, _, _ := strings.Cut(listen, ":")
	runNginx(tb, listen, snippet(tb, "nginx.conf",
		"listen 80;", "listen "+listen+";\n    proxy_bind 127.0.0.2;\n"+
			"    set_real_ip_from 127.0.0.0/8;\n    real_ip_header X-Forwarded-For;",
		"server_name dash.example.com;", "server_name "+host+";",
		"127.0.0.1:4180", gateway, "127.0.0.1:3000", app))
}

// TestNginxBehindTrustedProxyKeepsClaimsFromApp: nginx with real_ip
// trusting a load balancer decides, and hands the app, the host it routed
// by; a client's X-Forwarded-Host, -Prefix, -Uri and -Method passed on by
// the balancer reach neither the gateway's decision nor the app.
func TestNginxBehindTrustedProxyKeepsClaimsFromApp(t *testing.T) {
	t.Parallel() // its own nginx, gateway, provider and app
	s := behindFront(t, "127.0.0.2/32", startNginxBehindLB)
	behindLBCase(t, s, "X-Forwarded-User")
}
