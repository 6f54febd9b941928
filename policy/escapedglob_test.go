package policy

import (
	"strings"
	"testing"
)

// TestEscapedStarInPattern: "%2A" in a route's path was decoded into the
// glob, since requests' "%2A" is read as "*": `path = "/%2A/docs"`, public,
// written for a literal "*" segment, made every "/x/docs" public, and
// "/admin%2A" slipped past the rule that refuses "/admin*". Each is now an
// error, the request side unchanged.
func TestEscapedStarInPattern(t *testing.T) {
	for _, p := range []string{"/%2A/docs", "/%2a%2a", "/admin%2A", "/files/%2A.pdf"} {
		_, err := Compile([]RouteConfig{{Path: p, Public: true}})
		if err == nil || !strings.Contains(err.Error(), "%2A") {
			t.Errorf("Compile(%q): %v, want an error naming %%2A", p, err)
		}
	}
	table, err := Compile([]RouteConfig{{Path: "/*/docs", Public: true}, {Path: "/**"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := table.Match("GET", "", "/%2A/docs"); r == nil || r.Index != 0 {
		t.Errorf("a request's %%2A is no longer read as *: %v", r)
	}
}
