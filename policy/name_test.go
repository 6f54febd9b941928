package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestRouteName(t *testing.T) {
	table := mustCompile(t, []RouteConfig{{Path: "/api/**", Name: "api-write"}, {Path: "/**"}})
	if r := table.Match("GET", "a.test", "/api/x"); r.Key() != "api-write" || r.Label() != `routes[0] ("api-write")` {
		t.Errorf("named route: Key %q, Label %q", r.Key(), r.Label())
	}
	if r := table.Match("GET", "a.test", "/x"); r.Key() != "1" || r.Label() != "routes[1]" {
		t.Errorf("unnamed route: Key %q, Label %q", r.Key(), r.Label())
	}
	for _, tt := range []struct {
		name string
		rs   []RouteConfig
		msg  string
	}{
		{"duplicate", []RouteConfig{{Path: "/a", Name: "x"}, {Path: "/b", Name: "x"}}, `duplicate route name "x" (routes[0] has it)`},
		{"looks like an index", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: "0"}}, "not a route name"},
		{"reserved gateway", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: "gateway"}}, "not a route name"},
		{"reserved none", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: "none"}}, "not a route name"},
		{"space", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: "a b"}}, "not a route name"},
		{"quote", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: `a"b`}}, "not a route name"},
		{"newline", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: "a\nb"}}, "not a route name"},
		{"too long", []RouteConfig{{Path: "/a"}, {Path: "/b", Name: "a" + strings.Repeat("b", 64)}}, "not a route name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.rs)
			var re *RouteError
			if !errors.As(err, &re) || re.Index != 1 || re.Key != "name" || !strings.Contains(re.Msg, tt.msg) {
				t.Fatalf("Compile error = %v, want routes[1].name %q", err, tt.msg)
			}
			if errs := Validate(tt.rs); len(errs) != 1 || errs[0].Index != 1 {
				t.Fatalf("Validate = %v, want one problem on routes[1]", errs)
			}
		})
	}
}
