package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestQuerySpaceRefusedInEveryMode: a raw space in the query, which no
// HTTP/1.1 request line can carry (Go's server refuses it), reached the
// handler in an HTTP/2 :path and in forward-auth's X-Forwarded-Uri and
// X-Original-URI. Proxy mode decided it (an anonymous "/?a /admin/secret"
// as the public "/") and wrote it into the upstream's request line as it
// came, "GET /?a /admin/secret HTTP/1.1": a request the application splits
// where it likes, not the one decided. Forward-auth let the front proxy
// send it on. Both now refuse it with 400 (TestEveryModeDecidesAlike found
// it: HTTP/2 got the upstream's 400, forward-auth a 200).
func TestQuerySpaceRefusedInEveryMode(t *testing.T) {
	f, up := opaqueGateway(t)
	addr := serveHTTP2(t, f)
	for _, path := range []string{"/?a /admin/secret", "/x?q=a b", "/?a HTTP/1.0"} {
		status := h2Status(t, addr, [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "gw.test"},
			{":path", path}, {"authorization", "Bearer bob-token"}})
		if got := up.requestLines(); status != "400" || len(got) != 0 {
			t.Errorf(":path %q: status %s, want 400; the upstream received %q", path, status, got)
		}
		for _, h := range []string{"X-Forwarded-Uri", "X-Original-Uri"} {
			resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.1:4000"), withHeader("X-Forwarded-Method", "GET"),
				withHeader("X-Forwarded-Host", "gw.test"), withHeader(h, path), withHeader("Authorization", "Bearer bob-token"))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("forward-auth %s %q: %d, want 400", h, path, resp.StatusCode)
			}
		}
	}
	status := h2Status(t, addr, [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "gw.test"},
		{":path", "/a b?q=a%20b+c"}, {"authorization", "Bearer bob-token"}})
	if got := up.requestLines(); status != "200" || len(got) != 1 || got[0] != "GET /a%20b?q=a%20b+c HTTP/1.1" {
		t.Errorf("an escaped space in the query: status %s, the upstream received %q", status, got)
	}
}

// TestEmptyFragmentRefusedInEveryMode: a raw "#" in a request target is a
// 400 in proxy mode and in X-Forwarded-Uri, but X-Original-URL (and a
// Destination) were parsed with url.Parse, which drops an empty fragment
// without a trace: "http://gw.test/app/x#" was decided as "/app/x" while
// ingress-nginx sends the application "/app/x#", and a Destination
// "/app/y#" passed. Any "#" is refused now.
func TestEmptyFragmentRefusedInEveryMode(t *testing.T) {
	f := newFixture(t)
	alice := withCookies(f.cookies(t, f.session()))
	trusted := fromPeer("10.0.0.1:4000")
	for _, target := range []string{"/app/x#", "/app/x?#", "/app/x?a=1#", "/public/x#"} {
		if resp := f.do(t, "GET", target, nil, alice); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("proxy mode %q: %d, want 400", target, resp.StatusCode)
		}
		for _, hs := range [][2]string{{"X-Forwarded-Uri", target}, {"X-Original-URL", "http://gw.test" + target}} {
			resp := f.do(t, "GET", "/oauth2/auth", nil, alice, trusted, withHeader("X-Forwarded-Method", "GET"),
				withHeader("X-Forwarded-Host", "gw.test"), withHeader(hs[0], hs[1]))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("forward-auth %s %q: %d, want 400", hs[0], hs[1], resp.StatusCode)
			}
		}
	}
	for _, dest := range []string{"/app/y#", "http://gw.test/app/y#", "/app/y?#"} {
		before := f.up.count()
		resp := f.do(t, "MOVE", "/app/x", nil, alice, withHeader("Destination", dest))
		if resp.StatusCode != http.StatusBadRequest || f.up.count() != before {
			t.Errorf("Destination %q: %d, forwarded %v; want 400", dest, resp.StatusCode, f.up.count() != before)
		}
	}
	if resp := f.do(t, "MOVE", "/app/x", nil, alice, withHeader("Destination", "/app/y?a=%23")); resp.StatusCode != http.StatusOK ||
		!strings.HasSuffix(f.up.last(t).Header.Get("Destination"), "/app/y?a=%23") {
		t.Errorf("Destination with an escaped #: %d, want 200", resp.StatusCode)
	}
}
