package policy

import (
	"slices"
	"strconv"
	"testing"
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
		{"COPY", "gw.test", "/public", 99, []int{0, 1, 2, 4, 7}},
		{"COPY", "other.test", "/public/x", 99, []int{1, 2, 4, 5, 7}},
		{"COPY", "gw.test", "/public/secret", 2, []int{0, 1}},
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
