package proxy

import (
	"math/rand"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// TestFirstMatchDecidesPlainMethods pins what the WebDAV rules (a
// Destination, a collection's members, a method's effects, a method the
// gateway cannot describe) leave alone: a GET, HEAD, POST, PUT, PATCH or
// OPTIONS without a Destination header, on a table whose routes name only
// those methods (or none), is answered by the first route in file order
// that matches it, as before those rules. Random tables over a few
// segments, each request's path without a trailing slash or a dot, so that
// no path alias decides it either.
func TestFirstMatchDecidesPlainMethods(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	plain := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS"}
	segs := []string{"a", "b", "*", "**"}
	ids := []*portcullis.Identity{nil, {Subject: "bob", Groups: []string{"staff"}}, {Subject: "ann", Groups: []string{"admins"}}}
	for table := 0; table < 40; table++ {
		var routes []policy.RouteConfig
		for i := 0; i < 2+rng.Intn(5); i++ {
			rc := policy.RouteConfig{Path: ""}
			for j := 0; j < 1+rng.Intn(3); j++ {
				rc.Path += "/" + segs[rng.Intn(len(segs))]
			}
			for _, m := range plain {
				if rng.Intn(3) == 0 {
					rc.Methods = append(rc.Methods, m)
				}
			}
			switch rng.Intn(4) {
			case 0:
				rc.Public = true
			case 1:
				rc.AllowGroups = []string{"admins"}
			case 2:
				rc.Deny = true
			}
			routes = append(routes, rc)
		}
		f := newFixture(t, withRoutes(t, routes))
		for _, p := range []string{"/a", "/b", "/a/b", "/a/a/b", "/b/a", "/c/a/b/a"} {
			for _, m := range plain {
				want := f.h.cfg.Routes.Match(m, "gw.test", p)
				for _, id := range ids {
					ex, err := f.h.Explain(m, "http://gw.test"+p, nil, id)
					if err != nil {
						t.Fatalf("table %d %v: %s %s: %v", table, routes, m, p, err)
					}
					if ex.Route != want || (want != nil && ex.Decision.Outcome != want.Evaluate(id).Outcome) {
						t.Errorf("table %d %+v: %s %s for %v: route %v (%s), want the first match %v",
							table, routes, m, p, id, ex.Route, ex.Outcome, want)
					}
				}
			}
		}
	}
}
