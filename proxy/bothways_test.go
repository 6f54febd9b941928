package proxy

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// decidedBothWays sends method path with opts in proxy mode, where want
// is the status and whether the upstream was reached (only a 200 reaches
// it), and names the same request to the forward-auth endpoint as a
// trusted front proxy would, where a 404 of proxy mode (no route) is a
// 403. what describes the request in a failure.
func (f *fixture) decidedBothWays(t *testing.T, what, method, path string, want int, opts ...reqOption) {
	t.Helper()
	before := f.up.count()
	if resp := f.do(t, method, path, nil, opts...); resp.StatusCode != want || (f.up.count() > before) != (want == 200) {
		t.Errorf("%s %s%s: %d (upstream reached %v), want %d", method, path, what, resp.StatusCode, f.up.count() > before, want)
	}
	if want == 404 {
		want = 403
	}
	fa := append(opts[:len(opts):len(opts)], fromPeer("10.0.0.1:4000"), withHeader("X-Forwarded-Method", method),
		withHeader("X-Forwarded-Host", "gw.test"), withHeader("X-Forwarded-Uri", path))
	if resp := f.do(t, http.MethodGet, "/oauth2/auth", nil, fa...); resp.StatusCode != want {
		t.Errorf("forward-auth %s %s%s: %d, want %d", method, path, what, resp.StatusCode, want)
	}
}

// effectRoutes give GET of /reports/**, PUT and DELETE of /archive/** and
// DELETE of /ledger/** to finance, and the rest to anyone signed in: the
// WebDAV tests' table.
var effectRoutes = []policy.RouteConfig{
	{Path: "/reports/**", Methods: []string{"GET"}, AllowGroups: []string{"finance"}},
	{Path: "/archive/**", Methods: []string{"PUT", "DELETE"}, AllowGroups: []string{"finance"}},
	{Path: "/ledger/**", Methods: []string{"DELETE"}, AllowGroups: []string{"finance"}},
	{Path: "/**"},
}

// staffFixture is a fixture with routes and bob's session cookie, bob
// being in the group staff alone.
func staffFixture(t *testing.T, routes []policy.RouteConfig) (*fixture, reqOption) {
	t.Helper()
	f := newFixture(t, withRoutes(t, routes))
	s := f.session()
	s.Identity.Groups = []string{"staff"}
	return f, withCookies(f.cookies(t, s))
}
