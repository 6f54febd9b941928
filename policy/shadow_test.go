package policy

import (
	"fmt"
	"strings"
	"testing"
)

func TestPathCovers(t *testing.T) {
	tests := []struct {
		m, n string
		want bool
	}{
		{"/api/**", "/api/internal/**", true},
		{"/api/**", "/api", true},
		{"/api/**", "/api/", true},
		{"/api/**", "/api/*/x", true},
		{"/**", "/", true},
		{"/**", "/a/**/b", true},
		{"/a/*", "/a/b", true},
		{"/a/*", "/a/*", true},
		{"/a/*/**", "/a/b/**", true},
		{"/**/x", "/a/**/x", true},
		{"/a/b", "/a/b", true},
		{"/a/*", "/a/", false},   // "*" is never an empty segment
		{"/a/*", "/a/**", false}, // "/a" and "/a/b/c" escape "*"
		{"/a/b", "/a/b/", false}, // a trailing slash is a segment
		{"/api/**", "/apix/**", false},
		{"/api/internal/**", "/api/**", false},
		{"/**/x", "/**", false},
		{"/a/**/b", "/a/**", false},
		{"/*/b", "/**/b", false},     // "/b" has no segment for "*"
		{"/**/**/x", "/x/x/x", true}, // several "**" stay polynomial
	}
	for _, tt := range tests {
		m, err1 := compilePath(tt.m)
		n, err2 := compilePath(tt.n)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got := pathCovers(m, n); got != tt.want {
			t.Errorf("pathCovers(%s, %s) = %v, want %v", tt.m, tt.n, got, tt.want)
		}
	}
}

// TestPathCoversAgreesWithMatch checks on many paths that whenever
// pathCovers says m covers n, Match never lets a path of n through to n.
func TestPathCoversAgreesWithMatch(t *testing.T) {
	patterns := []string{"/**", "/a/**", "/a/*", "/a/*/**", "/*/b", "/**/b", "/a/b", "/a/b/", "/a", "/*", "/a/**/b", "/a/", "/"}
	paths := []string{"/", "/a", "/a/", "/a/b", "/a/b/", "/b", "/a/a/b", "/a/b/b", "/x/b", "/a/x/y/b", "/x"}
	for _, pm := range patterns {
		for _, pn := range patterns {
			m, _ := compilePath(pm)
			n, _ := compilePath(pn)
			if !pathCovers(m, n) {
				continue
			}
			table := mustCompile(t, []RouteConfig{{Path: pm}, {Path: pn}})
			for _, p := range paths {
				if r := table.Match("GET", "h.test", p); r != nil && r.Index == 1 {
					t.Errorf("%s said to cover %s, yet %s reaches the second", pm, pn, p)
				}
			}
		}
	}
}

func TestShadowed(t *testing.T) {
	tests := []struct {
		name   string
		routes []RouteConfig
		want   []string // "N by M,M [methods]"
	}{
		{"broader path first", []RouteConfig{{Path: "/api/**"}, {Path: "/api/internal/**", Deny: true}}, []string{"1 by 0"}},
		{"narrower path first", []RouteConfig{{Path: "/api/internal/**", Deny: true}, {Path: "/api/**"}}, nil},
		{"any host covers a host", []RouteConfig{{Path: "/**"}, {Host: "a.test", Path: "/x"}}, []string{"1 by 0"}},
		{"a host does not cover any host", []RouteConfig{{Host: "a.test", Path: "/**"}, {Path: "/x"}}, nil},
		{"wildcard covers subdomain", []RouteConfig{{Host: "*.test", Path: "/**"}, {Host: "a.b.test", Path: "/x"}}, []string{"1 by 0"}},
		{"wildcard covers deeper wildcard", []RouteConfig{{Host: "*.test", Path: "/**"}, {Host: "*.b.test", Path: "/x"}}, []string{"1 by 0"}},
		{"wildcard not its apex", []RouteConfig{{Host: "*.test", Path: "/**"}, {Host: "test", Path: "/x"}}, nil},
		{"other host", []RouteConfig{{Host: "a.test", Path: "/**"}, {Host: "b.test", Path: "/x"}}, nil},
		{"methods superset", []RouteConfig{{Path: "/**", Methods: []string{"GET", "POST"}}, {Path: "/x", Methods: []string{"POST"}}}, []string{"1 by 0"}},
		{"GET brings HEAD", []RouteConfig{{Path: "/**", Methods: []string{"GET"}}, {Path: "/x", Methods: []string{"HEAD"}}}, []string{"1 by 0"}},
		{"methods not a superset", []RouteConfig{{Path: "/**", Methods: []string{"GET"}}, {Path: "/x"}}, nil},
		{"two routes cover the methods together", []RouteConfig{
			{Path: "/**", Methods: []string{"GET"}}, {Path: "/a/**", Methods: []string{"POST"}}, {Path: "/a/b", Methods: []string{"GET", "POST"}},
		}, []string{"2 by 0,1"}},
		{"deny reached only by some methods", []RouteConfig{
			{Path: "/api/**", Methods: []string{"POST", "PUT", "PATCH", "DELETE"}}, {Path: "/api/**", Methods: []string{"GET"}},
			{Path: "/api/internal/**", Deny: true},
		}, []string{"2 by 0,1 [GET HEAD POST PUT PATCH DELETE]"}},
		{"deny with its own methods", []RouteConfig{
			{Path: "/**", Methods: []string{"GET"}, Public: true}, {Path: "/**", Methods: []string{"POST"}, Deny: true},
		}, nil},
		{"partial overlap of an allow route is not reported", []RouteConfig{
			{Path: "/**", Methods: []string{"GET"}, Public: true}, {Path: "/**"},
		}, nil},
		{"custom methods", []RouteConfig{{Path: "/**", Methods: []string{"PURGE"}}, {Path: "/x", Deny: true}}, []string{"1 by 0 [PURGE]"}},
		// A COPY is decided as a GET too, a MOVE as a GET and a DELETE, a
		// MKCOL as a PUT: the deny applies to them while it gets those.
		{"a WebDAV method reaches the deny as its effects", []RouteConfig{
			{Path: "/**", Methods: []string{"COPY", "MOVE", "MKCOL", "PROPFIND", "PURGE"}}, {Path: "/x", Deny: true},
		}, []string{"1 by 0 [PURGE]"}},
		{"a WebDAV method whose effects are shadowed too", []RouteConfig{
			{Path: "/**", Methods: []string{"GET", "COPY", "MOVE", "MKCOL", "PURGE"}}, {Path: "/x", Deny: true},
		}, []string{"1 by 0 [GET HEAD COPY PURGE]"}},
		{"a deny without the effect's method", []RouteConfig{
			{Path: "/**", Methods: []string{"MOVE"}}, {Path: "/x", Methods: []string{"GET", "MOVE"}, Deny: true},
		}, nil},
		{"a deny with the effect's method shadowed", []RouteConfig{
			{Path: "/**", Methods: []string{"MOVE", "GET"}}, {Path: "/x", Methods: []string{"GET", "MOVE"}, Deny: true},
		}, []string{"1 by 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, s := range mustCompile(t, tt.routes).Shadowed() {
				var by []string
				for _, r := range s.By {
					by = append(by, fmt.Sprint(r.Index))
				}
				g := fmt.Sprintf("%d by %s", s.Route.Index, strings.Join(by, ","))
				if s.Methods != nil {
					g += fmt.Sprintf(" %v", s.Methods)
				}
				got = append(got, g)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Shadowed = %q, want %q", got, tt.want)
			}
		})
	}
}
