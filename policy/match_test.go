package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func mustCompile(tb testing.TB, routes []RouteConfig) *Table {
	tb.Helper()
	t, err := Compile(routes)
	if err != nil {
		tb.Fatalf("Compile: %v", err)
	}
	return t
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		route   RouteConfig
		wantKey string
	}{
		{"no path", RouteConfig{}, "path"},
		{"relative path", RouteConfig{Path: "admin/**"}, "path"},
		{"star inside segment", RouteConfig{Path: "/a*b"}, "path"},
		{"double star inside segment", RouteConfig{Path: "/admin**"}, "path"},
		{"triple star", RouteConfig{Path: "/***"}, "path"},
		{"dot segment", RouteConfig{Path: "/a/../b"}, "path"},
		{"encoded dot segment", RouteConfig{Path: "/a/%2e/b"}, "path"},
		{"encoded slash", RouteConfig{Path: "/a%2Fb"}, "path"},
		{"semicolon", RouteConfig{Path: "/a;b"}, "path"},
		{"host with port", RouteConfig{Path: "/", Host: "a.example.com:443"}, "host"},
		{"host star inside", RouteConfig{Path: "/", Host: "a*.example.com"}, "host"},
		{"host star later", RouteConfig{Path: "/", Host: "a.*.example.com"}, "host"},
		{"host bare star", RouteConfig{Path: "/", Host: "*"}, "host"},
		{"host empty label", RouteConfig{Path: "/", Host: "a..com"}, "host"},
		{"host slash", RouteConfig{Path: "/", Host: "a.com/x"}, "host"},
		// Unicode lower-casing makes these "k.example.com", "i.example.com".
		{"host kelvin sign", RouteConfig{Path: "/", Host: "\u212a.example.com"}, "host"},
		{"host dotted capital I", RouteConfig{Path: "/", Host: "*.\u0130.example.com"}, "host"},
		{"host wildcard over IPv4", RouteConfig{Path: "/", Host: "*.10.0.0.1"}, "host"},
		{"lower-case method", RouteConfig{Path: "/", Methods: []string{"get"}}, "methods"},
		{"empty method", RouteConfig{Path: "/", Methods: []string{""}}, "methods"},
		{"method not a token", RouteConfig{Path: "/", Methods: []string{"GE T"}}, "methods"},
		{"public with scopes", RouteConfig{Path: "/", Public: true, RequireScopes: []string{"a"}}, "public"},
		{"public with deny", RouteConfig{Path: "/", Public: true, Deny: true}, "public"},
		{"scope with space", RouteConfig{Path: "/", RequireScopes: []string{"a b"}}, "require_scopes"},
		{"empty group", RouteConfig{Path: "/", AllowGroups: []string{""}}, "allow_groups"},
		{"email without at", RouteConfig{Path: "/", AllowEmails: []string{"alice"}}, "allow_emails"},
		{"email two ats", RouteConfig{Path: "/", AllowEmails: []string{"a@b@c.com"}}, "allow_emails"},
		// Addresses match exactly: "*@example.com" matched no one, silently.
		{"email wildcard local part", RouteConfig{Path: "/", AllowEmails: []string{"*@example.com"}}, "allow_emails"},
		{"email wildcard inside", RouteConfig{Path: "/", AllowEmails: []string{"ops-*@example.com"}}, "allow_emails"},
		{"domain with at", RouteConfig{Path: "/", AllowEmailDomains: []string{"@example.com"}}, "allow_email_domains"},
		{"domain wildcard", RouteConfig{Path: "/", AllowEmailDomains: []string{"*.example.com"}}, "allow_email_domains"},
		{"domain trailing dot", RouteConfig{Path: "/", AllowEmailDomains: []string{"example.com."}}, "allow_email_domains"},
		// Unicode lower-casing made the first "kate@example.com"; no
		// identity holds any of these (idp refuses them).
		{"email kelvin sign", RouteConfig{Path: "/", AllowEmails: []string{"\u212aate@example.com"}}, "allow_emails"},
		{"email fullwidth", RouteConfig{Path: "/", AllowEmails: []string{"ａdmin@example.com"}}, "allow_emails"},
		{"email NFD", RouteConfig{Path: "/", AllowEmails: []string{"jose\u0301@example.com"}}, "allow_emails"},
		{"email sharp s", RouteConfig{Path: "/", AllowEmails: []string{"bo\u00df@example.com"}}, "allow_emails"},
		{"domain sharp s", RouteConfig{Path: "/", AllowEmailDomains: []string{"stra\u00dfe.example"}}, "allow_email_domains"},
		{"domain dotted capital I", RouteConfig{Path: "/", AllowEmailDomains: []string{"exampl\u0130.com"}}, "allow_email_domains"},
		// A Unicode collation reads these as kate@example.com and example.com.
		{"email zero-width space", RouteConfig{Path: "/", AllowEmails: []string{"ka\u200bte@example.com"}}, "allow_emails"},
		{"domain soft hyphen", RouteConfig{Path: "/", AllowEmailDomains: []string{"exam\u00adple.com"}}, "allow_email_domains"},
		// Unicode 16's outlined capitals, unknown here, are ASCII to a newer NFKC.
		{"email outlined letter", RouteConfig{Path: "/", AllowEmails: []string{"\U0001CCDEnfo@example.com"}}, "allow_emails"},
		{"empty claim path", RouteConfig{Path: "/", RequireClaims: map[string]string{"": "x"}}, "require_claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok := RouteConfig{Path: "/ok"}
			_, err := Compile([]RouteConfig{ok, tt.route})
			var re *RouteError
			if !errors.As(err, &re) {
				t.Fatalf("Compile error = %v, want *RouteError", err)
			}
			if re.Index != 1 || re.Key != tt.wantKey {
				t.Fatalf("got routes[%d].%s (%v), want routes[1].%s", re.Index, re.Key, err, tt.wantKey)
			}
			if errs := Validate([]RouteConfig{tt.route, ok, tt.route}); len(errs) != 2 || errs[1].Index != 2 {
				t.Fatalf("Validate = %v, want errors for routes 0 and 2", errs)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, rc := range []RouteConfig{
		{Path: "/"}, {Path: "/**"}, {Path: "/*/x/**/y"}, {Path: "/a//b"}, {Path: "/%7Euser"},
		{Path: "/", Host: "Dash.Example.COM"}, {Path: "/", Host: "*.example.com"}, {Path: "/", Host: "10.0.0.1"},
		{Path: "/", Methods: []string{"PROPFIND", "GET"}}, {Path: "/", AllowEmailDomains: []string{"*"}},
		{Path: "/", Public: true}, {Path: "/", Deny: true},
	} {
		if _, err := Compile([]RouteConfig{rc}); err != nil {
			t.Errorf("Compile(%+v): %v", rc, err)
		}
	}
}

func TestMatch(t *testing.T) {
	routes := []RouteConfig{
		0:  {Path: "/public/**", Public: true},
		1:  {Path: "/admin/**", AllowGroups: []string{"admins"}},
		2:  {Path: "/reports"},
		3:  {Path: "/users/*"},
		4:  {Path: "/users/*/"},
		5:  {Path: "/api/**", Methods: []string{"POST", "PUT"}},
		6:  {Path: "/api/**", Methods: []string{"GET"}},
		7:  {Host: "dash.example.com", Path: "/**"},
		8:  {Host: "*.example.com", Path: "/wild/**"},
		9:  {Host: "*.example.com", Path: "/**"},
		10: {Path: "/a/**/z"},
		11: {Path: "/~user"},
		12: {Path: "/", Methods: []string{"PROPFIND"}},
		13: {Path: "/"},
		14: {Host: "other.test", Path: "/**"},
	}
	tbl := mustCompile(t, routes)
	tests := []struct {
		name, method, host, path string
		want                     int // -1: no route
	}{
		{"public", "GET", "x", "/public/a/b", 0},
		{"public root", "GET", "x", "/public", 0},
		{"publicity not public", "GET", "x", "/publicity", -1},
		{"admin", "GET", "x", "/admin", 1},
		{"admin slash", "GET", "x", "/admin/", 1},
		{"admin deep", "GET", "x", "/admin/x/y", 1},
		{"administrator", "GET", "x", "/administrator", -1},
		{"ADMIN case kept", "GET", "x", "/ADMIN", -1},
		{"literal exact", "GET", "x", "/reports", 2},
		{"literal trailing slash differs", "GET", "x", "/reports/", -1},
		{"star", "GET", "x", "/users/42", 3},
		{"star trailing slash", "GET", "x", "/users/42/", 4},
		{"star needs a segment", "GET", "x", "/users/", -1},
		{"star not two", "GET", "x", "/users/42/x", -1},
		{"method post", "POST", "x", "/api/x", 5},
		{"method get skips post route", "GET", "x", "/api/x", 6},
		{"head counts as get", "HEAD", "x", "/api/x", 6},
		{"method not listed", "DELETE", "x", "/api/x", -1},
		{"exact host", "GET", "dash.example.com", "/anything", 7},
		{"host earlier route wins", "GET", "dash.example.com", "/admin/x", 1},
		{"host canonical", "GET", "dash.example.com", "/anything", 7},
		{"wildcard", "GET", "a.example.com", "/wild/x", 8},
		{"wildcard deep", "GET", "a.b.example.com", "/x", 9},
		{"wildcard before exact when earlier", "GET", "dash.example.com", "/wild/x", 7},
		{"wildcard not apex", "GET", "example.com", "/x", -1},
		{"wildcard not suffix trick", "GET", "evil-example.com", "/x", -1},
		{"ipv6 host", "GET", "::1", "/reports", 2},
		{"double star middle zero", "GET", "x", "/a/z", 10},
		{"double star middle many", "GET", "x", "/a/b/c/z", 10},
		{"double star middle wrong end", "GET", "x", "/a/b/c/y", -1},
		{"decoded literal", "GET", "x", "/~user", 11},
		{"custom method", "PROPFIND", "x", "/", 12},
		{"unknown method", "BREW", "x", "/", 13},
		{"root", "GET", "x", "/", 13},
		{"other host", "GET", "other.test", "/q", 14},
		{"no match", "GET", "x", "/nothing", -1},
		{"not normalised refused", "GET", "x", "", -1},
		{"overlong host still wildcard", "GET", strings.Repeat("a", 300) + ".example.com", "/wild/x", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tbl.Match(tt.method, tt.host, tt.path)
			if idx := routeIndex(got); idx != tt.want {
				t.Fatalf("Match(%s %s %s) = route %d, want %d", tt.method, tt.host, tt.path, idx, tt.want)
			}
			if ref := routeIndex(naiveMatch(tbl, tt.method, tt.host, tt.path)); ref != tt.want {
				t.Fatalf("reference matcher says %d, want %d", ref, tt.want)
			}
		})
	}
}

func TestMatchHostilePaths(t *testing.T) {
	tbl := mustCompile(t, []RouteConfig{
		{Path: "/public/**", Public: true},
		{Path: "/admin/**", AllowGroups: []string{"admins"}},
	})
	for _, tt := range []struct {
		raw     string
		want    int // -1 no route, -2 refused by Normalize
		wantNrm string
	}{
		{"/public/../admin", 1, "/admin"},
		{"/public/%2e%2e/admin", 1, "/admin"},
		{"/public/%2E%2E/admin/x", 1, "/admin/x"},
		{"//admin", 1, "/admin"},
		{"/public//../admin", 1, "/admin"},
		{"/admin%2fx", -2, ""},
		{"/public/..%2fadmin", -2, ""},
		{"/admin;x", -2, ""},
		{"/public;/../admin", -2, ""},
		{"/admin%00", -2, ""},
		{"/public\\..\\admin", -2, ""},
		{"/%61dmin/x", 1, "/admin/x"},
		{"/ADMIN", -1, "/ADMIN"},
		{"/publicity", -1, "/publicity"},
	} {
		t.Run(tt.raw, func(t *testing.T) {
			p, err := Normalize(tt.raw)
			if tt.want == -2 {
				if err == nil {
					t.Fatalf("Normalize(%q) = %q, want refused", tt.raw, p)
				}
				return
			}
			if err != nil || p != tt.wantNrm {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.raw, p, err, tt.wantNrm)
			}
			if got := routeIndex(tbl.Match("GET", "x", p)); got != tt.want {
				t.Fatalf("Match(%q) = %d, want %d", p, got, tt.want)
			}
		})
	}
}

func TestValidMethod(t *testing.T) {
	for m, want := range map[string]bool{"GET": true, "PROPFIND": true, "M-SEARCH": true, "get": false, "Post": false, "": false, "GE T": false} {
		if got := ValidMethod(m); got != want {
			t.Errorf("ValidMethod(%q) = %v, want %v", m, got, want)
		}
	}
}

func TestRouteKey(t *testing.T) {
	tbl := mustCompile(t, []RouteConfig{{Path: "/a"}, {Path: "/b"}})
	for i, r := range tbl.Routes() {
		if r.Key() != fmt.Sprint(i) || r.Index != i {
			t.Errorf("route %d: Key %q Index %d", i, r.Key(), r.Index)
		}
	}
}

func TestMatchManyDoubleStars(t *testing.T) {
	// Nested "**" must not go exponential on a long path.
	tbl := mustCompile(t, []RouteConfig{{Path: "/**/a/**/b/**/c/**/d/**/nope"}, {Path: "/**/x"}})
	p := strings.Repeat("/a/b/c/d", 500)
	if got := routeIndex(tbl.Match("GET", "h", p)); got != -1 {
		t.Fatalf("got %d", got)
	}
	if got := routeIndex(tbl.Match("GET", "h", p+"/x")); got != 1 {
		t.Fatalf("got %d", got)
	}
}

func routeIndex(r *Route) int {
	if r == nil {
		return -1
	}
	return r.Index
}

// naiveMatch is the reference: a linear scan in file order, with the rules of
// the documented matching rules (docs/requests.md, routes) written as plainly as possible.
func naiveMatch(t *Table, method, host, path string) *Route {
	if !strings.HasPrefix(path, "/") {
		return nil
	}
	h := host // Match takes the host ParseHost made canonical
	segs := strings.Split(path[1:], "/")
	for _, r := range t.routes {
		switch {
		case r.Host == "":
		case strings.HasPrefix(r.Host, "*."):
			suffix := strings.ToLower(r.Host[1:])
			if !strings.HasSuffix(h, suffix) || len(h) == len(suffix) || h[0] == '.' {
				continue
			}
		case strings.ToLower(strings.TrimSuffix(r.Host, ".")) != h:
			// The host is canonical, lower-case ASCII: EqualFold would
			// also fold "ſ" to "s", and "c.teſt" is no name of c.test.
			continue
		}
		if len(r.Methods) > 0 && !slices.Contains(r.Methods, method) &&
			!(method == "HEAD" && slices.Contains(r.Methods, "GET")) {
			continue
		}
		if globMatch(r.segments, segs) {
			return r
		}
	}
	return nil
}

func globMatch(pat, segs []string) bool {
	if len(pat) == 0 {
		return len(segs) == 0
	}
	switch pat[0] {
	case "**":
		for i := 0; i <= len(segs); i++ {
			if globMatch(pat[1:], segs[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(segs) > 0 && segs[0] != "" && globMatch(pat[1:], segs[1:])
	}
	return len(segs) > 0 && segs[0] == pat[0] && globMatch(pat[1:], segs[1:])
}

// fuzzTable is a small table whose patterns overlap in many ways.
func fuzzTable(tb testing.TB) *Table {
	return mustCompile(tb, []RouteConfig{
		{Path: "/a/*/c", Methods: []string{"POST"}},
		{Host: "*.b.test", Path: "/**/x/*"},
		{Path: "/a/**/b/**"},
		{Host: "a.b.test", Path: "/*"},
		{Path: "/*/**/*/", Methods: []string{"GET", "DELETE"}},
		{Path: "/a/b/"},
		{Host: "c.test", Path: "/**"},
		{Path: "/**/*/z"},
		{Path: "/~u/**", Methods: []string{"PUT"}},
		{Path: "/"},
		{Host: "*.test", Path: "/**/**/q"},
		{Path: "/*/*"},
	})
}

func FuzzMatch(f *testing.F) {
	for _, s := range []struct{ method, host, path string }{
		{"GET", "a.b.test", "/a/b/"}, {"POST", "x", "/a/q/c"}, {"HEAD", "c.test", "/z"},
		{"GET", "q.b.test", "/1/2/x/3"}, {"DELETE", "x", "/1/2/"}, {"PUT", "x", "/%7eu/v"},
		{"GET", "x", "/public/../a/b/../b/"}, {"GET", "z.test", "/q/q/q"}, {"GET", "::1", "//"},
		{"GET", strings.Repeat("x", 260) + ".b.test", "/q/x/y"},
	} {
		f.Add(s.method, s.host, s.path)
	}
	tbl := fuzzTable(f)
	f.Fuzz(func(t *testing.T, method, host, raw string) {
		// Match takes the canonical host ParseHost makes: lower-case.
		host = strings.ToLower(host)
		p, err := Normalize(raw)
		if err != nil {
			return
		}
		got, want := tbl.Match(method, host, p), naiveMatch(tbl, method, host, p)
		if got != want {
			t.Fatalf("Match(%q, %q, %q) = route %d, reference says %d", method, host, p, routeIndex(got), routeIndex(want))
		}
	})
}

// benchTable builds n routes over a mix of hosts, literals, "*" and "**",
// with a catch-all at the end so that most requests walk deep.
func benchTable(b *testing.B, n int) *Table {
	routes := make([]RouteConfig, 0, n+1)
	for i := range n {
		var rc RouteConfig
		switch i % 5 {
		case 0:
			rc = RouteConfig{Path: fmt.Sprintf("/svc%d/api/v1/items/*", i)}
		case 1:
			rc = RouteConfig{Host: fmt.Sprintf("app%d.example.com", i%97), Path: fmt.Sprintf("/team%d/**", i)}
		case 2:
			rc = RouteConfig{Host: fmt.Sprintf("*.zone%d.example.com", i%31), Path: fmt.Sprintf("/p%d/*/edit", i)}
		case 3:
			rc = RouteConfig{Path: fmt.Sprintf("/docs/%d/**", i), Methods: []string{"GET"}}
		default:
			rc = RouteConfig{Path: fmt.Sprintf("/**/file%d", i), Methods: []string{"POST"}}
		}
		routes = append(routes, rc)
	}
	routes = append(routes, RouteConfig{Path: "/**"})
	return mustCompile(b, routes)
}

func BenchmarkMatch(b *testing.B) {
	tbl := benchTable(b, 10000)
	for _, bc := range []struct{ name, method, host, path string }{
		{"literal-star", "GET", "gw.example.com", "/svc9995/api/v1/items/42"},
		{"exact-host-dstar", "GET", "app7.example.com:443", "/team9991/reports/q3"},
		{"wildcard-host", "GET", "a.zone3.example.com", "/p9997/x/edit"},
		{"dstar-suffix", "POST", "gw.example.com", "/deep/dir/tree/file9999"},
		{"catch-all", "GET", "Unknown.Example.ORG", "/no/such/route/anywhere/at/all"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if tbl.Match(bc.method, bc.host, bc.path) == nil {
				b.Fatal("no match")
			}
			b.ReportAllocs()
			for b.Loop() {
				tbl.Match(bc.method, bc.host, bc.path)
			}
		})
	}
}

func TestMethods(t *testing.T) {
	tbl := mustCompile(t, []RouteConfig{{Path: "/a", Methods: []string{"PROPFIND", "X-OTHER-METHOD"}}, {Path: "/b", Methods: []string{"MKCOL"}}})
	got := strings.Join(tbl.Methods(), " ")
	want := "GET HEAD POST PUT PATCH DELETE OPTIONS CONNECT TRACE MKCOL PROPFIND X-OTHER-METHOD X-OTHER-METHOD-"
	if got != want {
		t.Fatalf("Methods() = %s, want %s", got, want)
	}
	// The stand-in matches only routes without methods.
	if r := tbl.Match("X-OTHER-METHOD-", "", "/a"); r != nil {
		t.Fatalf("the stand-in matched route %d", r.Index)
	}
}

// TestNamesHost: a host is named by an exact route host or a wildcard that
// covers it (subdomains only), never by a route without a host.
func TestNamesHost(t *testing.T) {
	tbl := mustCompile(t, []RouteConfig{
		{Path: "/**"},
		{Host: "dash.example.com", Path: "/**"},
		{Host: "*.apps.test", Path: "/x"},
	})
	for host, want := range map[string]bool{
		"dash.example.com": true, "a.apps.test": true, "a.b.apps.test": true,
		"apps.test": false, "example.com": false, "other.test": false, "": false,
		".apps.test": false, "x.dash.example.com": false,
	} {
		if got := tbl.NamesHost(host); got != want {
			t.Errorf("NamesHost(%q) = %v, want %v", host, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { tbl.NamesHost("a.b.apps.test") }); n != 0 {
		t.Errorf("NamesHost allocates %v times", n)
	}
}

// TestManyHostsMatchInAnyCase: Caddy's host matcher turned case-sensitive
// once it listed more than 100 hosts (CVE-2026-27588), so "H050.TEST"
// escaped a deny route that "h050.test" met. Here 150 host routes deny
// /admin/**; the host as a client spells it, in any case and with a
// trailing dot, goes through ParseHost as the gateway's does and meets the
// same route.
func TestManyHostsMatchInAnyCase(t *testing.T) {
	var routes []RouteConfig
	for i := range 150 {
		routes = append(routes, RouteConfig{Host: fmt.Sprintf("h%03d.test", i), Path: "/admin/**", Deny: true})
	}
	routes = append(routes, RouteConfig{Path: "/**", Public: true})
	tbl, err := Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, spelled := range []string{"h050.test", "H050.TEST", "h050.TeSt", "H050.test.", "h149.TEST:8443", "H000.Test"} {
		h, err := ParseHost(spelled)
		if err != nil {
			t.Fatalf("ParseHost(%q): %v", spelled, err)
		}
		if r := tbl.Match("GET", h.Name, "/admin/x"); r == nil || !r.Deny {
			t.Errorf("GET /admin/x on Host %q met route %d, want its deny route", spelled, routeIndex(r))
		}
	}
}
