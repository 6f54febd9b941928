package proxy

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestUpstreamRootCAs: an https upstream whose certificate chains to the
// pool handed over in Upstream.RootCAs (config loads tls_ca_file into it)
// is reached; with the system roots alone it is a 502.
func TestUpstreamRootCAs(t *testing.T) {
	tlsUp := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("tls upstream"))
	}))
	defer tlsUp.Close()
	u, _ := url.Parse(tlsUp.URL)
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(tlsUp.Certificate())
	for _, tc := range []struct {
		name string
		cas  *x509.CertPool
		want int
	}{
		{"system roots plus the CA", pool, http.StatusOK},
		{"system roots alone", nil, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Upstreams = []Upstream{{Name: "app", URL: u, RootCAs: tc.cas}} })
			resp := f.do(t, "GET", "/public/x", nil)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
