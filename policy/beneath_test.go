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
		table.Beneath(c.method, c.host, c.path, c.before, func(r *Route) { got = append(got, r.Index) })
		if !slices.Equal(got, c.want) {
			t.Errorf("Beneath(%s, %s, %s, %d) = %v, want %v", c.method, c.host, c.path, c.before, got, c.want)
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
		table.Beneath("DELETE", "gw.test", "/app7/users/42", 100, func(*Route) { n++ })
	}
}

// TestBeneathCostBoundedByRoutes: a DELETE, COPY or MOVE with a long path
// (64 KiB of request line: 30,000 segments) costs what a short one does.
// Every route was matched against every segment, even past a first
// literal that differed, and the path was split into a slice: over 1,000
// routes one anonymous DELETE cost about 0.5 s of CPU (600 ms with
// "/**/x/private/*" routes) and 480 KB. A glob's segments up to its first
// "**" decide, so no more of the path is read.
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
	n := 0
	count := func(*Route) { n++ }
	allocs := testing.AllocsPerRun(5, func() { table.Beneath("DELETE", "gw.test", long, math.MaxInt, count) })
	if allocs != 0 {
		t.Errorf("Beneath over 2,001 routes and 30,000 segments: %v allocations a call, want none", allocs)
	}
	fastest := [2]time.Duration{time.Hour, time.Hour} // long, short
	for range 5 {
		for i, path := range []string{long, "/a/a"} {
			start := time.Now()
			table.Beneath("DELETE", "gw.test", path, math.MaxInt, count)
			fastest[i] = min(fastest[i], time.Since(start))
		}
	}
	if fastest[0] > 10*fastest[1] {
		t.Errorf("Beneath over 2,001 routes: %v a call with 30,000 segments, %v with 2; want at most 10 times", fastest[0], fastest[1])
	}
	if n != 16*1001 {
		t.Errorf("Beneath listed %d routes in 16 calls, want %d", n, 16*1001)
	}
}
