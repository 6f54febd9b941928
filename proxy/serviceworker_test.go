package proxy

import (
	"net/http"
	"net/http/httptest"
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
	srv := workerGateway(t)
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

// workerGateway serves a gateway whose upstream "other" has /public/other/
// and POST /app/upload/, and "app" the rest; the upstream answers with the
// Service-Worker-Allowed lines of its query's swa.
func workerGateway(t *testing.T) *httptest.Server {
	t.Helper()
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
	return serveGateway(t, f)
}

// TestUpstreamServiceWorkerDefaultScope: a worker script's own directory
// is its scope's limit when the answer names none, and an application
// whose script sits above another's paths (/public/sw.js, above
// /public/other/) controlled them without any header. For a worker's
// script (Service-Worker: script), such a limit becomes the script's own
// path as a directory, never the path itself: a scope is a prefix, and
// /public/oth would cover /public/other/. A script whose path as a
// directory holds another's paths too (/public, above /public/other/) is
// refused. An application's own directory stays as it is.
func TestUpstreamServiceWorkerDefaultScope(t *testing.T) {
	srv := workerGateway(t)
	for _, tc := range []struct {
		path, swa string
		want      []string
		status    int
	}{
		{"/public/sw.js", "", []string{"/public/sw.js/"}, 200},
		{"/public/sw.js", "/public/", []string{"/public/sw.js/"}, 200},
		{"/public/oth", "", []string{"/public/oth/"}, 200},
		{"/public/static/", "", nil, 200},
		{"/public", "", nil, http.StatusBadGateway},
		{"/public/static/sw.js", "", nil, 200},
		{"/public/static/sw.js", "/public/static/", []string{"/public/static/"}, 200},
		{"/public/other/sw.js", "", nil, 200},
	} {
		u := srv.URL + tc.path
		if tc.swa != "" {
			u += "?" + url.Values{"swa": {tc.swa}}.Encode()
		}
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Service-Worker", "script")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if got := resp.Header.Values("Service-Worker-Allowed"); !slices.Equal(got, tc.want) || resp.StatusCode != tc.status {
			t.Errorf("%s with Service-Worker-Allowed %q: the client got %d %q, want %d %q", tc.path, tc.swa,
				resp.StatusCode, got, tc.status, tc.want)
		}
	}
}
