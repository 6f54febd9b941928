package proxy

import (
	"net/http"
	"testing"
)

// TestForwardAuthUpstreamHost: X-Portcullis-Upstream-Host is the Host the
// front proxy sends the app (ingress-nginx's $best_http_host, which with
// use-forwarded-headers is a client's X-Forwarded-Host). The gateway decides
// the host nginx routed by; one naming another host (or port) is refused,
// never decided, else a request for a public host reaches the app as a
// protected one (e2e TestIngressNginxForwardedHeadersHostDecided).
func TestForwardAuthUpstreamHost(t *testing.T) {
	f := newFixture(t)
	orig := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Original-Method", "GET"),
		withHeader("X-Original-URL", "http://app.test/public/x"), withHeader("X-Forwarded-Host", "app.test")}
	for _, c := range []struct {
		upstream []string
		want     int
	}{
		{nil, http.StatusOK},
		{[]string{"app.test"}, http.StatusOK},
		{[]string{"APP.test"}, http.StatusOK},
		{[]string{"other.test"}, http.StatusBadRequest},
		{[]string{"app.test:8443"}, http.StatusBadRequest},
		{[]string{"app.test", "other.test"}, http.StatusBadRequest},
		{[]string{"app.test/x"}, http.StatusBadRequest},
	} {
		opts := append([]reqOption(nil), orig...)
		for _, v := range c.upstream {
			opts = append(opts, withHeader("X-Portcullis-Upstream-Host", v))
		}
		resp := f.do(t, "GET", "/oauth2/auth", nil, opts...)
		body := readBody(t, resp)
		if resp.StatusCode != c.want {
			t.Errorf("anonymous /auth for GET app.test/public/x, X-Portcullis-Upstream-Host %q: %d, want %d: %s",
				c.upstream, resp.StatusCode, c.want, body)
		}
	}
}
