package proxy

import (
	"net/http"
	"testing"
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
