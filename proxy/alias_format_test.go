package proxy

import (
	"io"
	"net/http"
	"regexp"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// railsReports is Rails' route "/reports(.:format)" as Journey compiles it:
// a symbol's default pattern is [^./?]+ (Journey::Nodes::Symbol::
// DEFAULT_EXP), so the format is any run of characters but ".", "/" and
// "?", matched on the decoded path after a trailing slash is dropped.
var railsReports = regexp.MustCompile(`^/reports(?:\.[^./?]+)?/?$`)

// TestAliasAnyFormatSuffix: Rails serves "/reports.x-y" as reports#index
// with the format "x-y" (any characters but ".", "/" and "?"), and Spring's
// suffix pattern "/reports.*" and IIS (which drops a name's trailing dots)
// serve "/reports." as "/reports". Aliases were made only for a suffix of
// letters, digits and dots, so a non-admin reached the admins' literal
// route through "-", "_", "~" or an escape in the suffix, or a trailing dot.
func TestAliasAnyFormatSuffix(t *testing.T) {
	var served atomic.Int32
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		if railsReports.MatchString(r.URL.Path) {
			served.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	}, withRoutes(t, []policy.RouteConfig{
		{Path: "/reports", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	bob := withHeader("Authorization", "Bearer bob-token")
	for _, p := range []string{
		"/reports.x-y", "/reports.x_y", "/reports.~", "/reports.%20", "/reports.a%2Bb",
		"/reports.x-y/", "/reports.", "/reports..", "/reports./", "/reports.tar.g-z",
	} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a non-admin: %d, want 403 like /reports", p, r.StatusCode)
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("reports#index served to a non-admin %d times", n)
	}
	trusted := fromPeer("10.0.0.5:4000")
	for _, u := range []string{"http://app.test/reports.x-y", "http://app.test/reports."} {
		r := f.do(t, "GET", "/oauth2/auth", nil, trusted, bob, withHeader("X-Original-URL", u))
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("forward-auth %s as a non-admin: %d, want 403", u, r.StatusCode)
		}
	}
	// Paths no route before their own refuses are forwarded as before.
	for _, p := range []string{"/reportsx-y", "/docs.x-y", "/a/.hidden", "/reports/x.y-z"} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s as a non-admin: %d, want 200", p, r.StatusCode)
		}
	}
}

// railsDotStatus is Rails' route "/.status(.:format)", a literal segment
// that starts with a dot, as Journey compiles it.
var railsDotStatus = regexp.MustCompile(`^/\.status(?:\.[^./?]+)?/?$`)

// TestAliasFormatSuffixAfterLeadingDot: a segment that starts with a dot
// (".status", ".env") has no format suffix in that dot, but one after its
// name as any other: Rails serves "/.status.json" as "/.status" and
// Spring's "/.status.*" matches it. Since the suffix rule was widened
// (review KO), such a segment got no alias at all, and a non-admin reached
// the admins' literal route "/.status" through "/.status.json", which
// before was decided as "/.status" too.
func TestAliasFormatSuffixAfterLeadingDot(t *testing.T) {
	var served atomic.Int32
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		if railsDotStatus.MatchString(r.URL.Path) {
			served.Add(1)
		}
		_, _ = io.WriteString(w, "ok")
	}, withRoutes(t, []policy.RouteConfig{
		{Path: "/.status", AllowGroups: []string{"admins"}},
		{Path: "/**"},
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	bob := withHeader("Authorization", "Bearer bob-token")
	for _, p := range []string{"/.status.json", "/.status.x-y", "/.status.", "/.status.json/", "/.status.tar.gz"} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode != http.StatusForbidden {
			t.Errorf("GET %s as a non-admin: %d, want 403 like /.status", p, r.StatusCode)
		}
	}
	if n := served.Load(); n != 0 {
		t.Errorf("the admins' /.status served to a non-admin %d times", n)
	}
	trusted := fromPeer("10.0.0.5:4000")
	r := f.do(t, "GET", "/oauth2/auth", nil, trusted, bob, withHeader("X-Original-URL", "http://app.test/.status.json"))
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("forward-auth /.status.json as a non-admin: %d, want 403", r.StatusCode)
	}
	for _, p := range []string{"/.statusx", "/..status", "/a/.status"} {
		if r := f.do(t, "GET", p, nil, bob); r.StatusCode != http.StatusOK {
			t.Errorf("GET %s as a non-admin: %d, want 200", p, r.StatusCode)
		}
	}
}
