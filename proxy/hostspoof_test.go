package proxy

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// TestHostSpoofOnHostlessRoutes: where a route without host serves every
// host but one (admin.test, admins only), a client that names one host
// and means another gets the decision of the host the upstream receives:
// a forged Host is decided as that host; an untrusted peer's
// X-Forwarded-Host is replaced, never believed; an absolute-form target's
// host replaces the Host field (Go's server), so it is both decided and
// forwarded. The assertion's audience on the hostless route is public_url's
// host whatever the client names, so no host it chooses steers it to
// another application's audience.
func TestHostSpoofOnHostlessRoutes(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Host: "admin.test", Path: "/**", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	}), func(c *Config) { c.Upstreams[0].PreserveHost = true })
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name, request string
		status        int
		host          string // the upstream's Host and X-Forwarded-Host; "" = not reached
	}{
		{"admin host", "GET /x HTTP/1.1\r\nHost: admin.test\r\n", 403, ""},
		{"forged Host", "GET /x HTTP/1.1\r\nHost: other.test\r\n", 200, "other.test"},
		{"spelt otherwise", "GET /x HTTP/1.1\r\nHost: ADMIN.test.:80\r\n", 403, ""},
		{"untrusted X-Forwarded-Host", "GET /x HTTP/1.1\r\nHost: other.test\r\nX-Forwarded-Host: admin.test\r\n", 200, "other.test"},
		{"absolute-form names admin", "GET http://admin.test/x HTTP/1.1\r\nHost: other.test\r\n", 403, ""},
		{"absolute-form names other", "GET http://other.test/x HTTP/1.1\r\nHost: admin.test\r\n", 200, "other.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.up.count()
			if got := rawStatus(t, srv.Listener.Addr().String(), tc.request+"Authorization: Bearer bob-token\r\nConnection: close\r\n\r\n"); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if tc.host == "" {
				if f.up.count() != before {
					t.Fatal("the upstream was reached")
				}
				return
			}
			got := f.up.last(t)
			if got.Host != tc.host || got.Header.Get("X-Forwarded-Host") != tc.host {
				t.Errorf("upstream Host %q, X-Forwarded-Host %q, want %q", got.Host, got.Header.Get("X-Forwarded-Host"), tc.host)
			}
			if p := decodeJWTPayload(t, got.Header.Get("X-Portcullis-Jwt-Assertion")); !strings.Contains(p, `"aud":"gw.test"`) {
				t.Errorf("assertion %s, want aud gw.test", p)
			}
		})
	}
}
