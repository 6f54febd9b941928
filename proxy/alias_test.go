package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/idp"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// TestAliasMethodlessTrailingSlash: forward-auth with no method named
// answers 200 only if every method would be allowed, the path's aliases
// included: PUT /docs/ is decided as PUT /docs (editors only), so /docs/
// with no method named is refused even though GET /docs has no route.
func TestAliasMethodlessTrailingSlash(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/docs", Methods: []string{"PUT", "DELETE"}, AllowGroups: []string{"editors"}}, // 0
		{Path: "/docs/", Public: true}, // 1
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	trusted := fromPeer("10.0.0.5:4000")
	bob := withHeader("Authorization", "Bearer bob-token")
	named := f.do(t, "GET", "/oauth2/auth", nil, trusted, bob,
		withHeader("X-Original-URL", "http://app.test/docs/"), withHeader("X-Original-Method", "PUT"))
	if named.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT /docs/ named: %d, want 403 (the fix's own rule)", named.StatusCode)
	}
	every := f.do(t, "GET", "/oauth2/auth", nil, trusted, bob, withHeader("X-Original-URL", "http://app.test/docs/"))
	if every.StatusCode != http.StatusForbidden {
		t.Errorf("no method named, /docs/: %d, want 403 (PUT /docs/ is refused, so not every method is allowed)", every.StatusCode)
	}
}

// TestAliasPublicSlashPathIdentifies: an alias whose route comes after the
// path's own ("/docs/" public, then "/**") is not evaluated: a public page
// does not identify the visitor, so a stale bearer token still gets 200.
func TestAliasPublicSlashPathIdentifies(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/docs/", Public: true},
		{Path: "/**"},
	}))
	resp := f.do(t, "GET", "/docs/", nil, withHeader("Authorization", "Bearer expired-token"))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /docs/ (public) with a stale bearer token: %d, want 200 as before", resp.StatusCode)
	}
}

// TestAbsoluteTargetForms: absolute-form targets (from forward proxies)
// still work.
func TestAbsoluteTargetForms(t *testing.T) {
	f := newFixture(t)
	for target, want := range map[string]int{
		"http://gw.test/public/x": 200,
		"HTTP://gw.test/public/x": 200,
		"http://gw.test":          404,
	} {
		r := f.do(t, "GET", target, nil)
		if r.StatusCode != want {
			t.Errorf("%s: %d want %d", target, r.StatusCode, want)
		}
	}
}

// TestAliasFormatSuffixSkipsLiteralRoute: Rails ("(.:format)") and Spring
// (suffix matching) serve "/reports.json" as "/reports": a literal route
// for admins listed first is not skipped by a format suffix or a slash.
func TestAliasFormatSuffixSkipsLiteralRoute(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/reports", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	bob := withHeader("Authorization", "Bearer bob-token")
	for _, p := range []string{"/reports", "/reports/", "/reports.json"} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a non-admin: %d, want 403 like /reports", p, r.StatusCode)
		}
	}
}

// TestAliasPublicSlashPathRefreshes: a public page whose alias's route comes
// later neither refreshes the visitor's session at the provider nor sets
// the session cookie on the public (perhaps cached) answer.
func TestAliasPublicSlashPathRefreshes(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/docs/", Public: true},
		{Path: "/**"},
	}))
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-new", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	cookies := nearExpiry(t, f, 10*time.Second)
	resp := f.do(t, "GET", "/docs/", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := f.prov.refreshes.Load(); n != 0 || len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("public GET /docs/: %d refreshes at the provider, Set-Cookie %q (Cache-Control %q)",
			n, resp.Header.Values("Set-Cookie"), resp.Header.Get("Cache-Control"))
	}
}

// TestAliasLongFormTrailingSlash: a POST whose form is longer than the
// pre-read (its _method unseen) must be allowed for every method, aliases
// included, else 413: Rails would perform PUT /docs.
func TestAliasLongFormTrailingSlash(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/docs", Methods: []string{"PUT", "DELETE"}, AllowGroups: []string{"editors"}},
		{Path: "/docs/", Public: true},
	}))
	padded := "a=" + strings.Repeat("x", 64<<10) + "&_method=put"
	form := withHeader("Content-Type", "application/x-www-form-urlencoded")
	bob := withHeader("Authorization", "Bearer bob-token")
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	if r := f.do(t, "POST", "/docs/?_method=put", nil, bob); r.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /docs/?_method=put: %d, want 403", r.StatusCode)
	}
	if r := f.do(t, "POST", "/docs/", strings.NewReader(padded), form, bob); r.StatusCode == http.StatusOK {
		t.Errorf("POST /docs/ with _method=put past the pre-read: forwarded (200), want 413")
	}
}

func aliasFixture(t *testing.T) (*fixture, reqOption) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/reports", AllowGroups: []string{"admins"}},
		{Path: "/users/*", Methods: []string{"DELETE"}, AllowGroups: []string{"admins"}},
		{Path: "/secret", Deny: true},
		{Host: "a.test", Path: "/hosted", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	return f, withHeader("Authorization", "Bearer bob-token")
}

// TestAliasFormatThenSlash: Rails strips the trailing slash and then
// matches (.:format): GET /reports.json/ is reports#index, like /reports.
func TestAliasFormatThenSlash(t *testing.T) {
	f, bob := aliasFixture(t)
	for _, p := range []string{"/reports.json/", "/reports.json//", "/secret.json/"} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode == http.StatusOK {
			t.Errorf("GET %s as a non-admin: forwarded (200), want refused like /reports", p)
		}
	}
}

// TestAliasMultiDotSuffix: Spring's suffix pattern "/reports.*" matches
// /reports.tar.gz and /reports.v1.json.
func TestAliasMultiDotSuffix(t *testing.T) {
	f, bob := aliasFixture(t)
	for _, p := range []string{"/reports.tar.gz", "/reports.v1.json"} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode == http.StatusOK {
			t.Errorf("GET %s as a non-admin: forwarded (200), want refused like /reports", p)
		}
	}
}

// TestAliasVariants: spellings, methods, hosts, _method and forward-auth
// through the aliases; an alias never allows what its path refuses.
func TestAliasVariants(t *testing.T) {
	f, bob := aliasFixture(t)
	type c struct {
		m, p string
		host string
	}
	for _, tc := range []c{
		{"GET", "/reports/", ""}, {"GET", "/reports//", ""}, {"GET", "/reports.JSON", ""},
		{"GET", "/reports.json?x", ""}, {"HEAD", "/reports.json", ""}, {"HEAD", "/reports/", ""},
		{"DELETE", "/users/42/", ""}, {"DELETE", "/users/42//", ""}, {"DELETE", "/users/42.json", ""},
		{"GET", "/secret.json", ""}, {"GET", "/secret/", ""},
		{"GET", "/hosted.json", "a.test"}, {"GET", "/hosted/", "a.test"},
		{"POST", "/users/42/?_method=delete", ""}, {"POST", "/users/42.json?_method=DELETE", ""},
	} {
		opts := []reqOption{bob}
		if tc.host != "" {
			h := tc.host
			opts = append(opts, func(r *http.Request) { r.Host = h })
		}
		if r := f.do(t, tc.m, tc.p, nil, opts...); r.StatusCode == http.StatusOK {
			t.Errorf("%s %s host %q: forwarded (200), want refused", tc.m, tc.p, tc.host)
		}
	}
	// control: allowed elsewhere
	if r := f.do(t, "GET", "/users/42.json", nil, bob); r.StatusCode != http.StatusOK {
		t.Errorf("GET /users/42.json control: %d", r.StatusCode)
	}
	if r := f.do(t, "GET", "/hosted.json", nil, bob); r.StatusCode != http.StatusOK {
		t.Errorf("GET /hosted.json on another host control: %d", r.StatusCode)
	}
	// forward-auth
	trusted := fromPeer("10.0.0.5:4000")
	for _, tc := range []struct{ url, m string }{
		{"http://app.test/reports.json", ""}, {"http://app.test/reports/", "GET"},
		{"http://app.test/users/42.json", "DELETE"}, {"http://app.test/users/42/", ""},
		{"http://a.test/hosted.xml", ""},
	} {
		opts := []reqOption{trusted, bob, withHeader("X-Original-URL", tc.url)}
		if tc.m != "" {
			opts = append(opts, withHeader("X-Original-Method", tc.m))
		}
		if r := f.do(t, "GET", "/oauth2/auth", nil, opts...); r.StatusCode == http.StatusOK {
			t.Errorf("forward-auth %s %q: 200, want refused", tc.url, tc.m)
		}
	}
}

// TestPathAliases: the aliases of a path, without allocating.
func TestPathAliases(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { pathAliases("/static/app.bundle.js/") }); a != 0 {
		t.Errorf("pathAliases allocates %v times", a)
	}
	for path, want := range map[string]string{
		"/":                "",
		"/app/dashboard":   "",
		"/users/42/":       "/users/42",
		"/reports.json":    "/reports",
		"/reports.json/":   "/reports.json /reports",
		"/reports.tar.gz":  "/reports.tar /reports",
		"/reports.v1.json": "/reports.v1 /reports",
		"/a/.hidden":       "",
		"/a/.env.local":    "/a/.env",
		"/a/.b.c.d":        "/a/.b.c /a/.b",
		"/a/..b.c":         "/a/..b",
		"/a/..b":           "",
		"/a/.b./":          "/a/.b. /a/.b",
		"/a/b.":            "/a/b",
		"/a/b..":           "/a/b. /a/b",
		"/a/b.c-d":         "/a/b",
		"/a/b.%20":         "/a/b",
		"/a/b.c-d.e_f":     "/a/b.c-d /a/b",
		"/a.b/c":           "",
	} {
		aliases, n := pathAliases(path)
		if got := strings.Join(aliases[:n], " "); got != want {
			t.Errorf("pathAliases(%q) = %q, want %q", path, got, want)
		}
	}
}
