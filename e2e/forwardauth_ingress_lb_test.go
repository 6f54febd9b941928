package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// ingressForwardedHeadersMaps are the maps ingress-nginx's nginx.tmpl
// writes into its http block with use-forwarded-headers: "true": the
// X-Forwarded-Host, -Proto and -Port a request carries are believed, from
// any peer (proxy-real-ip-cidr bounds only the address).
const ingressForwardedHeadersMaps = `map $http_x_forwarded_proto $pass_access_scheme { default $http_x_forwarded_proto; '' $scheme; }
map $http_x_forwarded_port $pass_server_port { default $http_x_forwarded_port; '' $server_port; }
map $http_host $this_host { default $http_host; '' $host; }
map $http_x_forwarded_host $best_http_host { default $http_x_forwarded_host; '' $this_host; }
`

// startIngressNginxForwardedHeaders is startIngressNginx with the
// controller's ConfigMap setting use-forwarded-headers: "true" (ingress-nginx
// behind a cloud load balancer): the app's Host, X-Forwarded-Host, -Port and
// -Proto come from the request's X-Forwarded-* headers.
func startIngressNginxForwardedHeaders(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	server := ingressNginxServer(tb, listen, gateway, app)
	const own = "    proxy_set_header Host $host;\n    proxy_set_header X-Forwarded-Host $host;\n" +
		"    proxy_set_header X-Forwarded-Port $server_port;\n    proxy_set_header X-Forwarded-Proto $scheme;\n" +
		"    proxy_set_header X-Forwarded-Scheme $scheme;\n"
	if !strings.Contains(server, own) {
		tb.Fatalf("ingressNginxServer no longer sets the app's forwarding headers as expected:\n%s", server)
	}
	server = strings.Replace(server, own, "    proxy_set_header Host $best_http_host;\n"+
		"    proxy_set_header X-Forwarded-Host $best_http_host;\n    proxy_set_header X-Forwarded-Port $pass_server_port;\n"+
		"    proxy_set_header X-Forwarded-Proto $pass_access_scheme;\n    proxy_set_header X-Forwarded-Scheme $pass_access_scheme;\n", 1)
	if !strings.Contains(server, ingressBestHTTPHost) {
		tb.Fatalf("ingressNginxServer no longer maps $best_http_host:\n%s", server)
	}
	server = strings.Replace(server, ingressBestHTTPHost, ingressForwardedHeadersMaps, 1)
	runNginx(tb, listen, server)
}

// TestIngressNginxForwardedHeadersHostDecided: with use-forwarded-headers
// the controller sends the app the Host a request's X-Forwarded-Host names,
// while the auth subrequest names the Host nginx routed by ($host, $http_host).
// A request for a public host (public.test) naming the protected one in
// X-Forwarded-Host must not reach the app as the protected host: the
// gateway decides the host the app gets, or refuses.
func TestIngressNginxForwardedHeadersHostDecided(t *testing.T) {
	t.Parallel() // its own nginx, gateway, provider and app
	s := behindFront(t, "127.0.0.2/32", startIngressNginxForwardedHeaders)
	anon := browser(t)
	for _, path := range []string{"/admin/secret", "/hello"} {
		before := s.up.count()
		status := sendHost(t, anon, "http://"+s.front+path, "public.test", map[string]string{"X-Forwarded-Host": s.front})
		if s.up.count() == before {
			continue
		}
		got := s.up.last()
		if got.Host != "public.test" || got.Headers.Get("X-Forwarded-Host") != "public.test" {
			t.Errorf("anonymous GET %s (Host public.test, X-Forwarded-Host %s): %d, the app got Host %q, X-Forwarded-Host %q",
				path, s.front, status, got.Host, got.Headers.Get("X-Forwarded-Host"))
		}
	}
	// Nor does a client's X-Forwarded-Host on the app's own host reach the app.
	c, _ := signInBob(t, s.p, "http://"+s.front)
	before := s.up.count()
	status, _ := send(t, c, "GET", "http://"+s.front+"/hello", map[string]string{"X-Forwarded-Host": "public.test"})
	if s.up.count() != before && s.up.last().Host != s.front {
		t.Errorf("bob's GET /hello with X-Forwarded-Host public.test: %d, the app got Host %q", status, s.up.last().Host)
	}
	// Without one, or with the host it routes by (a balancer that
	// overwrites it), requests go through as before.
	for _, hdr := range []map[string]string{nil, {"X-Forwarded-Host": s.front}} {
		if status, _ := send(t, c, "GET", "http://"+s.front+"/hello", hdr); status != 200 || s.up.last().Host != s.front {
			t.Errorf("bob's GET /hello with %v: %d, the app got Host %q", hdr, status, s.up.last().Host)
		}
	}
}

// sendHost is send with the request's Host header set to host.
func sendHost(tb testing.TB, c *http.Client, target, host string, hdr map[string]string) int {
	tb.Helper()
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Host = host
	status, _ := sendRequest(tb, c, req, hdr)
	return status
}
