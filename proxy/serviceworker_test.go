package proxy

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestUpstreamServiceWorkerScope: an application answers its worker script
// with Service-Worker-Allowed, which widens the scope a browser lets the
// worker control past the script's own directory. A scope whose path the
// routes send to another upstream (another application's paths, the whole
// host) is removed, so that one application's worker cannot answer the
// requests of another or the gateway's own; a scope of its own passes.
func TestUpstreamServiceWorkerScope(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Service-Worker-Allowed"] = r.URL.Query()["swa"]
		w.Header().Set("Content-Type", "text/javascript")
	}, func(c *Config) {
		c.Upstreams = append(c.Upstreams, Upstream{Name: "other", URL: c.Upstreams[0].URL})
		routes := append([]policy.RouteConfig{
			{Path: "/public/other/**", Public: true, Upstream: "other"},
			{Path: "/app/upload/**", Methods: []string{"POST"}, Upstream: "other"},
		}, testRoutes...)
		for i := range routes[2:] {
			routes[i+2].Upstream = "app"
		}
		table, err := policy.Compile(routes)
		if err != nil {
			t.Fatal(err)
		}
		c.Routes = table
	})
	srv := serveGateway(t, f)
	for _, tc := range []struct {
		path string
		swa  []string
		kept bool
	}{
		{"/public/static/sw.js", []string{"/public/static/"}, true},
		// A scope is a prefix of every URL it controls: one whose own path
		// is the application's still covers another's paths beneath it
		// (/public/other/), on a partial segment (/public/oth covers
		// /public/other/), or for another method (POST /app/upload/).
		{"/public/static/sw.js", []string{"/public/"}, false},
		{"/public/static/sw.js", []string{"../"}, false},
		{"/public/static/sw.js", []string{"/public/oth"}, false},
		{"/public/static/sw.js", []string{"/app/"}, false},
		{"/public/static/sw.js", []string{"/app/upl"}, false},
		{"/public/static/sw.js", []string{"/app/x/"}, true},
		{"/public/other/sw.js", []string{"/public/other/"}, true},
		{"/public/other/sw.js", []string{"/public/"}, false},
		{"/public/other/sw.js", []string{"/"}, false},
		{"/public/other/sw.js", []string{"../../"}, false},
		{"/public/other/sw.js", []string{"/public/other/%2e%2e/"}, false},
		{"/public/other/sw.js", []string{"//gw.test/public/other/"}, false},
		{"/public/other/sw.js", []string{"http://gw.test/public/other/"}, false},
		{"/public/other/sw.js", []string{"/public/other/", "/"}, false},
		// Browsers read a backslash as "/" and drop tabs inside a URL:
		// policy.Normalize refuses both.
		{"/public/other/sw.js", []string{`/public/other/..\`}, false},
		{"/public/other/sw.js", []string{`..\..\`}, false},
		{"/public/other/sw.js", []string{"/public/other/.\t./"}, false},
		{"/public/static/sw.js", []string{"/"}, false}, // no route: nobody's
	} {
		q := url.Values{"swa": tc.swa}
		resp, err := http.Get(srv.URL + tc.path + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		got := resp.Header.Values("Service-Worker-Allowed")
		if want := tc.swa; (tc.kept && !slices.Equal(got, want)) || (!tc.kept && len(got) != 0) {
			t.Errorf("%s with Service-Worker-Allowed %q: the client got %q, kept %v", tc.path, tc.swa, got, tc.kept)
		}
	}
}
