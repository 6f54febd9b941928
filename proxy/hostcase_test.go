package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestHostCaseUnderNestedWildcards replays an authorization bypass of
// another forward-auth gateway: with a stricter wildcard route
// (*.b.example.com) ahead of a laxer one (*.example.com), a host whose
// middle label is in capitals (a.B.example.com) skipped the stricter route
// and was decided by the laxer. Here the host is read case-insensitively
// wherever it comes from (Host, X-Forwarded-Host, X-Original-URL), with a
// trailing dot and a port, so every spelling is decided by the first route.
func TestHostCaseUnderNestedWildcards(t *testing.T) {
	table, err := policy.Compile([]policy.RouteConfig{
		{Host: "*.b.example.com", Path: "/**", Deny: true},
		{Host: "*.example.com", Path: "/**", Public: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.Routes = table })
	trusted := fromPeer("10.0.0.5:4000")
	for _, host := range []string{"a.b.example.com", "a.B.example.com", "A.B.EXAMPLE.COM.", "a.B.example.com:443", "a.b.Example.com."} {
		for name, opts := range map[string][]reqOption{
			"proxy mode": {func(r *http.Request) { r.Host = host }},
			"X-Forwarded-Host": {trusted, withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", host),
				withHeader("X-Forwarded-Uri", "/x")},
			"X-Original-URL": {trusted, withHeader("X-Original-URL", "https://"+host+"/x")},
		} {
			target := "/x"
			if name != "proxy mode" {
				target = "/oauth2/auth"
			}
			resp := f.do(t, "GET", target, nil, opts...)
			if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "route denies all requests") {
				t.Errorf("%s %q: %d, want 403 from the stricter route: %s", name, host, resp.StatusCode, body)
			}
		}
	}
	if resp := f.do(t, "GET", "/x", nil, func(r *http.Request) { r.Host = "a.C.example.com" }); resp.StatusCode != http.StatusOK {
		t.Errorf("a.C.example.com: %d, want 200 from the laxer route", resp.StatusCode)
	}
	if f.up.count() != 1 {
		t.Errorf("the upstream received %d requests, want 1", f.up.count())
	}
}
