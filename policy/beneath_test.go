package policy

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBeneath: the routes ahead of before whose glob matches a path under
// the one given, for the method and host, in file order.
func TestBeneath(t *testing.T) {
	table, err := Compile([]RouteConfig{
		{Path: "/public/secret/**", AllowGroups: []string{"admins"}}, // 0
		{Path: "/public/*/keys"},                                     // 1
		{Path: "/public/**", Public: true},                           // 2
		{Path: "/public", Methods: []string{"DELETE"}},               // 3
		{Path: "/**/private/**", Deny: true},                         // 4
		{Host: "other.test", Path: "/public/x/**"},                   // 5
		{Path: "/publicity/**", Methods: []string{"GET"}},            // 6
		{Path: "/**"}, // 7
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, host, path string
		before             int
		want               []int
	}{
		{"COPY", "gw.test", "/public/", 2, []int{0, 1}},
		// /public/** decides every path beneath /public: no later route does.
		{"COPY", "gw.test", "/public", 99, []int{0, 1, 2}},
		{"COPY", "other.test", "/public/x", 99, []int{1, 2}},
		{"COPY", "gw.test", "/public/secret", 2, []int{0}}, // ahead of /public/*/keys
		{"COPY", "gw.test", "/public/secret/keys", 2, []int{0}},
		{"COPY", "gw.test", "/public/other/", 2, []int{1}},
		{"COPY", "gw.test", "/public/other/x", 2, nil},
		{"COPY", "gw.test", "/", 99, []int{0, 1, 2, 4, 7}},
		{"GET", "gw.test", "/", 99, []int{0, 1, 2, 4, 6, 7}},
		{"DELETE", "gw.test", "/a/b/private", 99, []int{4, 7}},
		{"DELETE", "gw.test", "/a/b", 99, []int{4, 7}},
	} {
		var got []int
		table.Beneath(c.method, c.host, c.path, Infinity, c.before, func(r *Route) { got = append(got, r.Index) })
		if !slices.Equal(got, c.want) {
			t.Errorf("Beneath(%s, %s, %s, %d) = %v, want %v", c.method, c.host, c.path, c.before, got, c.want)
		}
	}
	// Of depth 1, only the routes of a direct member: /public/x/keys and
	// /a/private/b are deeper; /**/private/** holds every direct member of
	// /a/private/b.
	for _, c := range []struct {
		method, host, path string
		before             int
		want               []int
	}{
		{"PROPFIND", "gw.test", "/public/", 2, []int{0}},
		{"PROPFIND", "gw.test", "/public/x", 2, []int{1}},
		{"PROPFIND", "gw.test", "/public", 99, []int{0, 2}},
		{"PROPFIND", "gw.test", "/public/secret", 2, []int{0}},
		{"PROPFIND", "gw.test", "/a", 99, []int{4, 7}},
		{"PROPFIND", "gw.test", "/a/private/b", 99, []int{4}},
		{"PROPFIND", "gw.test", "/", 99, []int{2, 4, 7}},
	} {
		var got []int
		table.Beneath(c.method, c.host, c.path, 1, c.before, func(r *Route) { got = append(got, r.Index) })
		if !slices.Equal(got, c.want) {
			t.Errorf("Beneath(%s, %s, %s, depth 1, %d) = %v, want %v", c.method, c.host, c.path, c.before, got, c.want)
		}
	}
}

// TestBeneathOfDepthOne pins the glob shapes of a direct member: the
// segment after the path, a trailing slash, a "**" on either side of it.
func TestBeneathOfDepthOne(t *testing.T) {
	for _, c := range []struct {
		glob, path string
		some, all  bool
	}{
		{"/a/*", "/a", true, false}, // not "/a/x/"
		{"/a/*/", "/a", true, false},
		{"/a/*/**", "/a", true, false}, // not "/a/"
		{"/a/x", "/a", true, false},
		{"/a/x/y", "/a", false, false},
		{"/a", "/a", false, false},
		{"/a/", "/a", true, false}, // its own slash form
		{"/**/x", "/a/b", true, false},
		{"/**/b/x", "/a/b", true, false},
		{"/**/a/x", "/a/b", false, false},
		{"/**/private/*", "/a", false, false},
		{"/a/**/x/y", "/a", false, false},
		{"/a/**/y", "/a", true, false},
		{"/**/private/**", "/a", true, false},
		{"/**/private/**", "/a/private/b", true, true},
		{"/**/private/**/x", "/b", false, false},
		{"/**/private/*/**/x", "/private/b/c", true, false},
		{"/a/**/x/y", "/b", false, false},
		{"/**/q/**/x", "/a", false, false},
		{"/**/q/**/x", "/a/q", true, false},
		{"/**", "/a/b", true, true},
	} {
		tbl, err := Compile([]RouteConfig{{Path: c.glob}})
		if err != nil {
			t.Fatal(err)
		}
		if some, all := matchesBeneath(tbl.routes[0].segments, c.path, 1); some != c.some || all != c.all {
			t.Errorf("matchesBeneath(%s, %s, 1) = %v, %v; want %v, %v", c.glob, c.path, some, all, c.some, c.all)
		}
	}
}

// BenchmarkBeneath: what a DELETE, COPY or MOVE pays for its members'
// routes over a table of 100 routes.
func BenchmarkBeneath(b *testing.B) {
	var rcs []RouteConfig
	for i := range 99 {
		rcs = append(rcs, RouteConfig{Path: "/app" + strconv.Itoa(i) + "/**/private/*"})
	}
	table, err := Compile(append(rcs, RouteConfig{Path: "/**"}))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		table.Beneath("DELETE", "gw.test", "/app7/users/42", Infinity, 100, func(*Route) { n++ })
	}
}

// TestBeneathCostBoundedByRoutes: a DELETE, COPY or MOVE with a long path
// (64 KiB of request line: 30,000 segments) costs what a short one does.
// Every route was matched against every segment, even past a first
// literal that differed, and the path was split into a slice: over 1,000
// routes one anonymous DELETE cost about 0.5 s of CPU (600 ms with
// "/**/x/private/*" routes) and 480 KB. A glob's segments up to its first
// "**" decide, so no more of the path is read; of depth 1, those after
// its last too, read from the path's end.
//
// The long path's cost is compared with a short one's, not with a fixed
// time: each is the fastest of calls made in turn, so a loaded machine
// (-race, other packages' tests beside) slows both, and the verdict
// stands; 20 ms a call was exceeded by a loaded -race run (27 ms) of the
// fixed code, and the unbounded cost was about 1,000 times the short one.
func TestBeneathCostBoundedByRoutes(t *testing.T) {
	var rcs []RouteConfig
	for i := range 1000 {
		rcs = append(rcs, RouteConfig{Path: "/app" + strconv.Itoa(i) + "/**/private/*"},
			RouteConfig{Path: "/**/x" + strconv.Itoa(i) + "/private/*"})
	}
	table, err := Compile(append(rcs, RouteConfig{Path: "/**"}))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("/a", 30000)
	// Of depth 1 (a PROPFIND listing), only "/**" matches a direct member.
	for depth, listed := range map[int]int{Infinity: 1001, 1: 1} {
		n := 0
		count := func(*Route) { n++ }
		allocs := testing.AllocsPerRun(5, func() { table.Beneath("DELETE", "gw.test", long, depth, math.MaxInt, count) })
		if allocs != 0 {
			t.Errorf("Beneath of depth %d over 2,001 routes and 30,000 segments: %v allocations a call, want none", depth, allocs)
		}
		fastest := [2]time.Duration{time.Hour, time.Hour} // long, short
		for range 5 {
			for i, path := range []string{long, "/a/a"} {
				start := time.Now()
				table.Beneath("DELETE", "gw.test", path, depth, math.MaxInt, count)
				fastest[i] = min(fastest[i], time.Since(start))
			}
		}
		if fastest[0] > 10*fastest[1] {
			t.Errorf("Beneath of depth %d over 2,001 routes: %v a call with 30,000 segments, %v with 2; want at most 10 times", depth, fastest[0], fastest[1])
		}
		if n != 16*listed {
			t.Errorf("Beneath of depth %d listed %d routes in 16 calls, want %d", depth, n, 16*listed)
		}
	}
}
