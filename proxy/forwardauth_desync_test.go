package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// Forward-auth desyncs between what {prefix}/auth decides and
// what the front proxy then hands the application.

// TestForwardAuthLeadingDoubleSlash: behind a front proxy the
// application receives the original request-target, not the normalised
// path the gateway decided (the reason ".." is refused in forward-auth).
// A target starting with "//" is a network-path reference to every WHATWG
// URL parser (Node's documented new URL(req.url, base), undici, Deno, Bun)
// and to Python's urlsplit: "//public/admin/x" is host "public", path
// "/admin/x". The gateway merges the slashes and decides "/public/admin/x",
// a public route, so an anonymous client reaches the app's /admin/x.
// nginx (proxy_pass without a URI) and Caddy forward "//public/admin/x"
// unchanged (see e2e/forwardauth_desync_test.go).
func TestForwardAuthLeadingDoubleSlash(t *testing.T) {
	f := newFixture(t)
	trusted := fromPeer("10.0.0.5:4000")
	for _, opts := range [][]reqOption{
		{withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "//public/admin/x")},
		{withHeader("X-Original-Method", "GET"), withHeader("X-Original-URL", "http://app.test//public/admin/x")},
		{withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "//public/admin/x"),
			withHeader("X-Original-URL", "http://app.test//public/admin/x"), withHeader("X-Original-URI", "//public/admin/x")},
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, append(opts, trusted)...)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("anonymous /auth for GET //public/admin/x (the app reads path /admin/x): %d, want 400: %s",
				resp.StatusCode, body)
		}
	}
	// The same request in proxy mode is forwarded as "/public/admin/x": no desync there.
}

// TestForwardAuthPathRewriteHeaders: proxy mode removes the headers
// with which an application (or its framework) replaces or strips the path
// it routes by (alwaysScrubbed: X-Rewrite-URL, X-Script-Name of Flask's
// ReverseProxied recipe, Script-Name, Path-Info). In forward-auth the
// front proxy passes them on to the application, and the gateway neither
// refuses them (as it refuses method-override headers for the same reason)
// nor do the ingress-nginx, Traefik and Envoy snippets remove them:
// "GET /public/admin/x" with "X-Script-Name: /public" is decided as the
// public /public/admin/x and routed by the app as /admin/x.
func TestForwardAuthPathRewriteHeaders(t *testing.T) {
	f := newFixture(t)
	trusted := fromPeer("10.0.0.5:4000")
	orig := []reqOption{trusted, withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test"),
		withHeader("X-Forwarded-Uri", "/public/admin/x")}
	for _, h := range [][2]string{
		{"X-Script-Name", "/public"},
		{"Script-Name", "/public"},
		{"X-Rewrite-URL", "/admin/x"},
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, append(orig, withHeader(h[0], h[1]))...)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("anonymous /auth for GET /public/admin/x with %s: %s: %d, want 400: %s", h[0], h[1], resp.StatusCode, body)
		}
	}
	// Control: proxy mode removes them before forwarding.
	resp := f.do(t, "GET", "/public/admin/x", nil, withHeader("X-Script-Name", "/public"), withHeader("X-Rewrite-URL", "/admin/x"))
	readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("proxy mode: %d", resp.StatusCode)
	}
	for k := range f.up.last(t).Header {
		if strings.EqualFold(k, "X-Script-Name") || strings.EqualFold(k, "X-Rewrite-Url") {
			t.Errorf("proxy mode forwarded %s", k)
		}
	}
}

// TestForwardAuthDotThenDoubleSlash: "/.//public/admin/x" is decided as
// "/public/admin/x" (public), and nginx and Caddy hand the application the
// original target, whose "." segment a WHATWG URL parser removes to leave
// pathname "//public/admin/x": a network-path reference, host "public",
// path "/admin/x", to the next parse, as a target starting with "//" is.
func TestForwardAuthDotThenDoubleSlash(t *testing.T) {
	f := newFixture(t)
	trusted := fromPeer("10.0.0.5:4000")
	for _, uri := range []string{"/.//public/admin/x", "/%2e//public/admin/x", "/././/public/admin/x", "/%2E/.//public/admin/x"} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, trusted, withHeader("X-Forwarded-Method", "GET"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", uri))
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("anonymous /auth for GET %s: %d, want 400: %s", uri, resp.StatusCode, body)
		}
	}
	// A "." segment before a single slash is harmless and still decided.
	resp := f.do(t, "GET", "/oauth2/auth", nil, trusted, withHeader("X-Forwarded-Method", "GET"),
		withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/./public/x"))
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Errorf("anonymous /auth for GET /./public/x: %d, want 200: %s", resp.StatusCode, body)
	}
}

// TestForwardAuthRefusesH2CUpgrade: proxy mode removes "Upgrade: h2c";
// a front proxy that forwards upgrades (Caddy, Traefik, ingress-nginx)
// hands it to the application, and one that speaks h2c answers 101 and
// then serves every HTTP/2 request the client sends through the tunnel,
// none of which the gateway decides. The original request is refused.
func TestForwardAuthRefusesH2CUpgrade(t *testing.T) {
	f := newFixture(t)
	orig := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"),
		withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x")}
	for _, v := range []string{"h2c", "H2C", "websocket, h2c"} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, append(orig, withHeader("Upgrade", v))...)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("anonymous /auth for GET /public/x with Upgrade: %s: %d, want 400: %s", v, resp.StatusCode, body)
		}
	}
	// A WebSocket upgrade is decided as any request.
	resp := f.do(t, "GET", "/oauth2/auth", nil, append(orig, withHeader("Upgrade", "websocket"))...)
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Errorf("anonymous /auth for a WebSocket to /public/x: %d, want 200: %s", resp.StatusCode, body)
	}
}
