package proxy

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// TestDestinationDecided: a WebDAV COPY or MOVE acts on its Destination
// header's path as much as on its own, so a request with one is forwarded
// only when that path is allowed too, in proxy mode and forward-auth. Bob
// (staff, not an admin) moved a file of his own into /admin, and anyone
// copied a public file there.
func TestDestinationDecided(t *testing.T) {
	f := newFixture(t)
	s := f.session()
	s.Identity.Groups = []string{"staff"}
	bob := withCookies(f.cookies(t, s))
	cases := []struct {
		method, path, dest string
		signedIn           bool
		want               int
	}{
		{"MOVE", "/app/x", "/app/y", true, 200},
		{"MOVE", "/app/x", "http://gw.test/app/y", true, 200},
		{"COPY", "/public/x", "/public/y", false, 200},
		{"MOVE", "/app/x", "/admin/x", true, 403},
		{"MOVE", "/app/x", "http://GW.test:80/admin/x", true, 403},
		{"PUT", "/app/x", "/admin/x", true, 403},
		{"MOVE", "/app/x", "/denied/x", true, 403},
		{"MOVE", "/app/x", "/admin/", true, 403},
		{"COPY", "/public/x", "/admin/x", false, 401},
		{"COPY", "/public/x", "/app/x", false, 401},
		{"MOVE", "/app/x", "/nowhere/x", true, 404},
		{"MOVE", "/app/x", "/app/../admin/x", true, 400},
		{"MOVE", "/app/x", "/app/%2e%2e/admin/x", true, 400},
		{"MOVE", "/app/x", "/app/x%2F..%2F..%2Fadmin%2Fx", true, 400},
		{"MOVE", "/app/x", "//admin/x", true, 400},
		{"MOVE", "/app/x", "/.//admin/x", true, 400},
		{"MOVE", "/app/x", "admin/x", true, 400},
		{"MOVE", "/app/x", "http://other.test/app/x", true, 400},
		{"MOVE", "/app/x", "ftp://gw.test/app/x", true, 400},
		{"MOVE", "/app/x", "http://u@gw.test/app/x", true, 400},
		{"MOVE", "/app/x", "/admin;x/y", true, 400},
		{"MOVE", "/app/x", "/app/y#z", true, 400},
	}
	for _, c := range cases {
		opts := []reqOption{withHeader("Destination", c.dest)}
		if c.signedIn {
			opts = append(opts, bob)
		}
		f.decidedBothWays(t, fmt.Sprintf(", Destination %q", c.dest), c.method, c.path, c.want, opts...)
	}
	resp := f.do(t, "MOVE", "/app/x", nil, bob, withHeader("Destination", "/app/y"), withHeader("Destination", "/app/z"))
	if resp.StatusCode != 400 {
		t.Errorf("two Destination headers: %d, want 400", resp.StatusCode)
	}
}

// TestDestinationOnAnotherUpstream: a Destination routed to another
// upstream than the request is a 400: the application that receives the
// request would write its own tree at a path a route of another decided.
func TestDestinationOnAnotherUpstream(t *testing.T) {
	f := overrideFixture(t)
	alice := withCookies(f.cookies(t, f.session()))
	for dest, want := range map[string]int{"/other/x": 200, "/uploads/x": 400} {
		before := f.up.count()
		// Overwrite: F, since no route lets a DELETE of /other/x through.
		resp := f.do(t, "PUT", "/other/y", nil, alice, withHeader("Destination", dest), withHeader("Overwrite", "F"))
		if resp.StatusCode != want || (f.up.count() > before) != (want == 200) {
			t.Errorf("PUT /other/y, Destination %s: %d (upstream reached %v), want %d", dest, resp.StatusCode, f.up.count() > before, want)
		}
	}
}

// TestDestinationRefusalNamesTheHeader: a Destination whose path the path
// rules refuse is a 400 that names the header, not the request's own path,
// which is fine: a WebDAV client renaming a file to "100%" was told its
// request path was not acceptable.
func TestDestinationRefusalNamesTheHeader(t *testing.T) {
	f := newFixture(t)
	bob := withCookies(f.cookies(t, f.session()))
	for _, dest := range []string{"/app/100%25", "/app/a%2Fb", "/app/../x", "/.//app/x"} {
		resp := f.do(t, "MOVE", "/app/x", nil, bob, withHeader("Destination", dest))
		body := readBody(t, resp)
		if resp.StatusCode != 400 || !strings.Contains(body, "the Destination header") || strings.Contains(body, "request path") {
			t.Errorf("Destination %s: %d %q, want a 400 that names the Destination header", dest, resp.StatusCode, body)
		}
	}
}

// TestCollectionDecidedWithItsMembers: a COPY, MOVE or DELETE (and a
// PROPFIND or LOCK of any depth but 0 or 1) of a path acts on every member
// beneath it, at its own path and its Destination's, so routes that decide
// a member decide the request too; a PROPFIND or REPORT of depth 1 reads
// its direct members, so their routes decide it. With /pub/secret/** for admins ahead of
// the public /pub/**, an anonymous COPY of /pub/ copied the secret where
// anyone reads it, and a DELETE removed it; a Destination over it
// overwrote it.
func TestCollectionDecidedWithItsMembers(t *testing.T) {
	f, bob := staffFixture(t, []policy.RouteConfig{
		{Path: "/pub/secret/**", AllowGroups: []string{"admins"}},
		{Path: "/pub/**", Public: true},
		{Path: "/files/*", Public: true},
		{Path: "/**"},
	})
	cases := []struct {
		method, path, dest, depth string
		signedIn                  bool
		want                      int
	}{
		{"COPY", "/pub/", "/pub/copy/", "", false, 401},
		{"COPY", "/pub", "/pub/copy", "", true, 403},
		{"MOVE", "/pub/", "/pub/moved/", "", false, 401},
		{"DELETE", "/pub/", "", "", false, 401},
		{"DELETE", "/pub", "", "", true, 403},
		{"PROPFIND", "/pub/", "", "", false, 401},
		{"PROPFIND", "/pub/", "", "infinity", false, 401},
		{"LOCK", "/pub/", "", "infinity", false, 401},
		{"LOCK", "/pub/", "", "1", false, 401}, // no depth of a LOCK: taken as infinity
		{"COPY", "/pub/x/", "/pub/", "", false, 401},
		{"MOVE", "/pub/x", "/", "", true, 403},
		{"COPY", "/files/x", "/pub/y", "", false, 401}, // /files/x/y is "/**"
		// Held: a member's route ahead of none, or a shallow request.
		{"COPY", "/pub/a/", "/pub/b/", "", false, 200},
		{"DELETE", "/pub/a", "", "", false, 200},
		{"PROPFIND", "/pub/", "", "1", false, 401}, // lists /pub/secret
		{"PROPFIND", "/pub", "", "1", false, 401},
		{"REPORT", "/pub/", "", "1", false, 401},
		{"PROPFIND", "/pub/", "", "1", true, 403},
		{"LOCK", "/pub/", "", "0", false, 200},
		{"PROPFIND", "/pub/", "", "0", false, 200},
		{"PROPFIND", "/pub/a/", "", "1", false, 200}, // /pub/a/secret is no route's
		{"PROPFIND", "/", "", "1", false, 401},       // "/**" decides it first
		{"REPORT", "/pub/", "", "", false, 200},
		{"GET", "/pub/", "", "", false, 200},
		{"PUT", "/pub/", "", "", false, 200},
		{"COPY", "/pub/", "/pub/copy/", "", true, 403},
	}
	for _, c := range cases {
		var opts []reqOption
		if c.dest != "" {
			opts = append(opts, withHeader("Destination", c.dest))
		}
		if c.depth != "" {
			opts = append(opts, withHeader("Depth", c.depth))
		}
		if c.signedIn {
			opts = append(opts, bob)
		}
		f.decidedBothWays(t, fmt.Sprintf(", Destination %q, Depth %q", c.dest, c.depth), c.method, c.path, c.want, opts...)
	}
}

// TestWebDAVMethodDecidedAsItsEffects: a WebDAV method reads or writes as
// GET, PUT and DELETE do, on its path, its Destination and the members
// beneath them, so it is decided as those methods there too. With GET of
// /reports/** for finance ahead of "/**", bob (staff) copied a report to
// where he reads it, decided by "/**" as a COPY.
func TestWebDAVMethodDecidedAsItsEffects(t *testing.T) {
	f, bob := staffFixture(t, effectRoutes)
	cases := []struct {
		method, path, dest, overwrite, depth string
		want                                 int
	}{
		{"GET", "/reports/q1", "", "", "", 403},
		{"COPY", "/reports/q1", "/files/q1", "", "", 403},
		{"MOVE", "/reports/q1", "/files/q1", "", "", 403},
		{"PROPFIND", "/reports/q1", "", "", "0", 403},
		{"PROPFIND", "/reports/", "", "", "1", 403},
		{"PROPFIND", "/", "", "", "infinity", 403}, // a member beneath is a report
		{"PROPFIND", "/", "", "", "1", 403},        // lists /reports, whose GET is finance's
		{"REPORT", "/reports/", "", "", "1", 403},
		{"COPY", "/", "/backup/", "", "", 403},
		{"REPORT", "/reports/", "", "", "0", 403},
		{"SEARCH", "/reports/", "", "", "", 403},
		{"COPY", "/files/x", "/archive/x", "", "", 403},
		{"COPY", "/files/x", "/archive/x", "F", "", 403},
		{"COPY", "/files/x", "/ledger/x", "", "", 403},
		{"COPY", "/files/x", "/ledger/x", "T", "", 403},
		{"COPY", "/files/x", "/ledger/x", "f", "", 403},
		{"MOVE", "/archive/x", "/files/x", "", "", 403},
		{"MOVE", "/ledger/x", "/files/x", "F", "", 403},
		{"COPY", "/files/", "/", "", "", 403}, // overwrites the archive beneath
		{"MKCOL", "/archive/d", "", "", "", 403},
		{"PROPPATCH", "/archive/x", "", "", "", 403},
		{"LOCK", "/archive/x", "", "", "0", 403},
		{"LOCK", "/", "", "", "infinity", 403},
		{"ACL", "/archive/x", "", "", "", 403},
		// Held: what no protected method's rule reaches.
		{"COPY", "/files/x", "/ledger/x", "F", "", 200},
		{"COPY", "/ledger/x", "/files/x", "", "", 200},
		{"COPY", "/archive/x", "/files/x", "", "", 200},
		{"COPY", "/files/x", "/files/y", "", "", 200},
		{"MOVE", "/files/x", "/files/y", "", "", 200},
		{"PROPFIND", "/files/", "", "", "1", 200},
		{"PROPFIND", "/", "", "", "0", 200},
		{"MKCOL", "/reports/d", "", "", "", 200},
		{"LOCK", "/", "", "", "0", 200},
		{"GET", "/archive/x", "", "", "", 200},
		{"PUT", "/reports/x", "", "", "", 200},
	}
	for _, c := range cases {
		opts := []reqOption{bob}
		for _, h := range [][2]string{{"Destination", c.dest}, {"Overwrite", c.overwrite}, {"Depth", c.depth}} {
			if h[1] != "" {
				opts = append(opts, withHeader(h[0], h[1]))
			}
		}
		f.decidedBothWays(t, fmt.Sprintf(", Destination %q, Overwrite %q, Depth %q", c.dest, c.overwrite, c.depth),
			c.method, c.path, c.want, opts...)
	}
}

// TestCollectionMembersWithNoMethodNamed: a forward-auth request that names
// no method may be a COPY, MOVE, DELETE, PROPFIND or LOCK, so its answer
// holds for one acting on every member. Methods no route names are decided
// by one stand-in, which must carry the members' routes as a COPY would:
// with writes to /share/ for staff, the staff member bob was let through
// (200) for any method on /share/, though his PROPFIND of depth infinity
// or LOCK lists or locks /share/private/, which is for admins (403 when
// the method is named).
func TestCollectionMembersWithNoMethodNamed(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/share/**", Methods: []string{"PUT", "DELETE"}, AllowGroups: []string{"staff"}},
		{Path: "/share/private/**", AllowGroups: []string{"admins"}},
		{Path: "/share/**", Public: true},
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	trusted := fromPeer("10.0.0.5:4000")
	bob := withHeader("Authorization", "Bearer bob-token")
	at := withHeader("X-Original-URL", "http://app.test/share/")
	for _, c := range []struct {
		method string
		want   int
	}{{"PROPFIND", 403}, {"LOCK", 403}, {"DELETE", 200}, {"", 403}} {
		opts := []reqOption{trusted, bob, at}
		if c.method != "" {
			opts = append(opts, withHeader("X-Original-Method", c.method))
		}
		if resp := f.do(t, "GET", "/oauth2/auth", nil, opts...); resp.StatusCode != c.want {
			t.Errorf("method %q, /share/: %d, want %d", c.method, resp.StatusCode, c.want)
		}
	}
	// A depth the method names keeps the members out of it.
	resp := f.do(t, "GET", "/oauth2/auth", nil, trusted, bob, at, withHeader("Depth", "1"))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("no method named, Depth 1: %d, want 403 (a COPY acts on every member whatever its Depth)", resp.StatusCode)
	}
}

// TestCollectionMembersOfAShadowedRoute: a route no member reaches, because
// an earlier one matches every path beneath, does not decide the request.
// With /files/* public, /files/** for editors and /** for admins, an
// editor's DELETE or COPY of /files/x was a 403: /** matches /files/x/y,
// though /files/** decides it.
func TestCollectionMembersOfAShadowedRoute(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/files/*", Public: true},
		{Path: "/files/**", AllowGroups: []string{"editors"}},
		{Path: "/**", AllowGroups: []string{"admins"}},
	}))
	f.prov.bearers["ed"] = &portcullis.Identity{Subject: "ed", Groups: []string{"editors"}}
	ed := withHeader("Authorization", "Bearer ed")
	for _, c := range []struct {
		method, path string
		opts         []reqOption
		want         int
	}{
		{"DELETE", "/files/x", []reqOption{ed}, 200},
		{"COPY", "/files/x", []reqOption{ed, withHeader("Destination", "/files/y")}, 200},
		{"COPY", "/files/x", []reqOption{withHeader("Destination", "/files/y")}, 401}, // /files/** still decides /files/x/y
		// A DELETE counts only the routes ahead of its own (a REST API's
		// removes one resource: docs/requests.md), and "/files/*" is first.
		{"DELETE", "/files/x", nil, 200},
		{"DELETE", "/other", []reqOption{ed}, 403},
	} {
		if resp := f.do(t, c.method, c.path, nil, c.opts...); resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
}

// TestCollectionReportReadsMembers: a REPORT of depth 1 or infinity reads
// its members, their content included (a CalDAV calendar-query returns
// each event's calendar-data, RFC 4791 §7.8), so it carries their routes;
// without a Depth it is of depth 0 (RFC 3253 §3.6). An anonymous REPORT of
// /pub/ with Depth: 1 went through, though /pub/secret/ is for admins.
func TestCollectionReportReadsMembers(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/pub/secret/**", AllowGroups: []string{"admins"}},
		{Path: "/pub/**", Public: true},
	}))
	for _, c := range []struct {
		depth string
		want  int
	}{{"1", 401}, {"infinity", 401}, {"x", 401}, {"0", 200}, {"", 200}} {
		var opts []reqOption
		if c.depth != "" {
			opts = append(opts, withHeader("Depth", c.depth))
		}
		if resp := f.do(t, "REPORT", "/pub/", nil, opts...); resp.StatusCode != c.want {
			t.Errorf("REPORT /pub/, Depth %q: %d, want %d", c.depth, resp.StatusCode, c.want)
		}
	}
}
