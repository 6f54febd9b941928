package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// Other gateways' published bypasses, replayed (review KG): each class had
// no test of its own here.

// TestTrustedProxyHeadersDoNotDecideProxyMode: oauth2-proxy decided its
// skip-auth routes on X-Forwarded-Uri once it trusted reverse-proxy headers
// (GHSA-7x63-xv5r-3p2x), answered any request with its probe's User-Agent
// as a health check (GHSA-5hvv-m4w4-gf6v), and its trusted_ips let every
// request of a trusted address through. Here a request from a trusted proxy
// (10.0.0.0/8), with every path-rewriting header naming a public path and a
// probe's User-Agent, is decided by its own path: 401, the app not reached.
func TestTrustedProxyHeadersDoNotDecideProxyMode(t *testing.T) {
	f := newFixture(t)
	spoof := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("User-Agent", "kube-probe/1.31"),
		withHeader("X-Forwarded-Uri", "/public/x"), withHeader("X-Original-URL", "http://gw.test/public/x"),
		withHeader("X-Original-URI", "/public/x"), withHeader("X-Rewrite-URL", "/public/x"),
		withHeader("X-Forwarded-Prefix", "/public"), withHeader("X-Forwarded-Host", "gw.test")}
	for _, p := range []string{"/admin/x", "/app/x", "/mail/x", "/api/x"} {
		if resp := f.do(t, "GET", p, nil, spoof...); resp.StatusCode != http.StatusUnauthorized || f.up.count() != 0 {
			t.Errorf("GET %s from a trusted proxy naming /public/x: status %d, app reached %d times; want 401, none",
				p, resp.StatusCode, f.up.count())
		}
	}
	// The same request for the public path itself is forwarded: the headers
	// alone are not what refused the others.
	if resp := f.do(t, "GET", "/public/x", nil, spoof...); resp.StatusCode != http.StatusOK || f.up.count() != 1 {
		t.Errorf("GET /public/x from a trusted proxy: status %d, app reached %d times; want 200, once", resp.StatusCode, f.up.count())
	}
}

// TestQueryNamingPublicRouteDecidedByPath: oauth2-proxy matched its
// skip_auth_routes against the path and the query, so "?x=/public" made any
// path public (GHSA-7rh7-c77v-6434). Routes here match the path alone: a
// protected path whose query names a public one is 401 in proxy mode and in
// forward-auth (dot-segments in the query resolve nothing), and a public
// path whose query names a protected one is 200.
func TestQueryNamingPublicRouteDecidedByPath(t *testing.T) {
	f := newFixture(t)
	check := func(target string, want int) {
		t.Helper()
		before := f.up.count()
		resp := f.do(t, "GET", target, nil)
		reached := f.up.count() != before
		if resp.StatusCode != want || reached != (want == http.StatusOK) {
			t.Errorf("proxy mode GET %s: status %d, app reached %v; want %d", target, resp.StatusCode, reached, want)
		}
		resp = f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", target))
		if resp.StatusCode != want {
			t.Errorf("forward-auth GET %s: status %d, want %d", target, resp.StatusCode, want)
		}
	}
	for _, target := range []string{"/admin/x?x=/public/", "/admin/x?/public/x", "/admin/x?next=%2Fpublic%2Fx",
		"/admin/x?a=1&path=/public/y", "/admin/x?/../../public/x", "/api/x?x=/../public/x", "/admin/x?x=/oauth2/healthz"} {
		check(target, http.StatusUnauthorized)
	}
	check("/public/x?x=/admin/", http.StatusOK)
}

// TestIdentityEchoedWithoutMarkup: mod_auth_openidc's info hook put the
// session's claims, as JSON, into an HTML page unescaped, so a claim the
// user chose (a display name "</pre><script>…") ran as script on the
// gateway's origin. Here a user whose name, email and groups are markup
// reads {prefix}/userinfo, and is refused a route (403 page and JSON): no
// answer carries her tags or her quoted attribute, and the userinfo answer
// is application/json, with or without a browser's Accept.
func TestIdentityEchoedWithoutMarkup(t *testing.T) {
	f := newFixture(t)
	const mark = `</pre><script>alert(1)</script><img src=x onerror="alert(2)">`
	s := f.session()
	s.Identity.PreferredUsername = mark
	s.Identity.Email = mark + "@example.com"
	s.Identity.Groups = []string{mark}
	cookies := withCookies(f.cookies(t, s))
	for i, rq := range []struct {
		target string
		opts   []reqOption
		want   int
	}{
		{"/oauth2/userinfo", []reqOption{cookies}, http.StatusOK},
		{"/oauth2/userinfo", []reqOption{cookies, browser()}, http.StatusOK},
		{"/admin/x", []reqOption{cookies, browser()}, http.StatusForbidden},
		{"/admin/x", []reqOption{cookies}, http.StatusForbidden},
	} {
		resp := f.do(t, "GET", rq.target, nil, rq.opts...)
		body := readBody(t, resp)
		if resp.StatusCode != rq.want || strings.Contains(body, "<script") || strings.Contains(body, "<img") ||
			strings.Contains(body, `"alert(2)"`) {
			t.Errorf("case %d, GET %s: %d, want %d without her markup:\n%s", i, rq.target, resp.StatusCode, rq.want, body)
		}
		if ct := resp.Header.Get("Content-Type"); rq.target == "/oauth2/userinfo" && ct != "application/json" {
			t.Errorf("userinfo Content-Type %q, want application/json", ct)
		}
		// No browser may sniff the answer into HTML, whatever it echoes.
		if n := resp.Header.Get("X-Content-Type-Options"); n != "nosniff" {
			t.Errorf("case %d, GET %s: X-Content-Type-Options %q, want nosniff", i, rq.target, n)
		}
	}
}
