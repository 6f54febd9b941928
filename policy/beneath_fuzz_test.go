package policy

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// The alphabet the differential test of Beneath builds route globs,
// request paths and member paths from, small so that they collide: "@"
// is written "%40" in some request paths (MatchKey decodes it), "z" is
// named by no route.
var (
	beneathGlobSegs = []string{"a", "b", "@", "*", "**"}
	beneathPathSegs = []string{"a", "b", "%40", "@", "z"}
	beneathMembers  = []string{"a", "b", "@", "z"}
	beneathHosts    = []string{"", "gw.test", "*.test", "other.test", "*.gw.test"}
	beneathReqHosts = []string{"gw.test", "other.test", "x.gw.test", ""}
	beneathMethods  = [][]string{nil, {"DELETE"}, {"GET"}, {"COPY"}, {"COPY", "MOVE"}, {"PROPFIND"}}
	beneathReqMeths = []string{"DELETE", "COPY", "MOVE", "GET", "HEAD", "PROPFIND", "PATCH"}
)

// byteReader hands out the fuzzer's bytes as small choices; 0 once spent.
type byteReader []byte

func (b *byteReader) pick(n int) int {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return int(c) % n
}

// beneathCase decodes data into a route table of 1 to 6 routes (globs of
// up to 4 segments, a trailing slash being one) and a request, which acts
// on every member or on the direct ones (depth).
func beneathCase(data []byte) (rcs []RouteConfig, method, host, path string, depth int) {
	b := byteReader(data)
	for range 1 + b.pick(6) {
		n := b.pick(5) // segments; 0 is "/"
		var segs []string
		for range n {
			segs = append(segs, beneathGlobSegs[b.pick(len(beneathGlobSegs))])
		}
		p := "/" + strings.Join(segs, "/")
		if n > 0 && n < 4 && b.pick(3) == 0 {
			p += "/"
		}
		rcs = append(rcs, RouteConfig{
			Host:    beneathHosts[b.pick(len(beneathHosts))],
			Path:    p,
			Methods: beneathMethods[b.pick(len(beneathMethods))],
		})
	}
	method = beneathReqMeths[b.pick(len(beneathReqMeths))]
	host = beneathReqHosts[b.pick(len(beneathReqHosts))]
	var segs []string
	for range b.pick(4) {
		segs = append(segs, beneathPathSegs[b.pick(len(beneathPathSegs))])
	}
	path = "/" + strings.Join(segs, "/")
	if len(segs) > 0 && b.pick(2) == 0 {
		path += "/"
	}
	return rcs, method, host, path, []int{Infinity, 1}[b.pick(2)]
}

// beneathOracle enumerates the paths strictly beneath path (path without
// its trailing slashes, "/" and 1 to 4 segments of the alphabet, or
// exactly 1 with depth 1, with and without a trailing slash, and the
// collection's own slash form) and
// returns, per route Index, whether its glob (method and host aside)
// matches one (globs) and whether it is the route Match picks for one
// (first). Globs of at most 4 segments need no deeper member.
func beneathOracle(t *Table, method, host, path string, depth int) (globs, first map[int]bool) {
	globs, first = map[int]bool{}, map[int]bool{}
	base := strings.TrimRight(path, "/")
	maxDepth := depth
	var walk func(prefix string, depth int)
	visit := func(p string) {
		if r := t.Match(method, host, p); r != nil {
			first[r.Index] = true
		}
		k := MatchKey(p)
		for _, r := range t.routes {
			if globMatch(r.segments, strings.Split(k[1:], "/")) {
				globs[r.Index] = true
			}
		}
	}
	walk = func(prefix string, depth int) {
		for _, s := range beneathMembers {
			p := prefix + "/" + s
			visit(p)
			visit(p + "/")
			if depth < 4 && depth < maxDepth {
				walk(p, depth+1)
			}
		}
	}
	visit(base + "/")
	walk(base, 1)
	return globs, first
}

// FuzzBeneath holds Table.Beneath to a brute-force oracle: every route
// Match picks for a path beneath the request's is listed (a miss lets a
// member's stricter route be bypassed), with the cut-off the proxy uses
// when the request's own route HoldsBeneath, which must then be first or
// later than every member's route. Beneath lists only routes whose glob
// matches a member, for the method and host.
func FuzzBeneath(f *testing.F) {
	for _, s := range []string{"", "\x03\x02\x00\x04\x00\x00\x03\x00\x04\x01\x00\x00\x01\x00\x00\x01\x00", "\x05\x04\x03\x04\x00\x01\x02\x01\x03\x00\x00\x02\x00\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rcs, method, host, raw, depth := beneathCase(data)
		tbl, err := Compile(rcs)
		if err != nil {
			t.Fatalf("Compile(%+v): %v", rcs, err)
		}
		path, err := Normalize(raw)
		if err != nil {
			t.Fatalf("Normalize(%q): %v", raw, err)
		}
		globs, first := beneathOracle(tbl, method, host, path, depth)
		own := tbl.Match(method, host, path)
		before := math.MaxInt
		if own != nil && own.HoldsBeneath() {
			before = own.Index
		}
		var listed, all []int
		tbl.Beneath(method, host, path, depth, before, func(r *Route) { listed = append(listed, r.Index) })
		tbl.Beneath(method, host, path, depth, math.MaxInt, func(r *Route) { all = append(all, r.Index) })
		for i := range first {
			switch {
			case before != math.MaxInt && i > before:
				t.Errorf("%s %s %s: route %d (%s) decides a member, after its own %d (%s) that HoldsBeneath", method, host, path, i, rcs[i].Path, own.Index, own.Path)
			case i != before && !slices.Contains(listed, i):
				t.Errorf("%s %s %s: Beneath misses route %d (%s), which decides a member; listed %v", method, host, path, i, rcs[i].Path, listed)
			}
		}
		for _, i := range all {
			if !globs[i] {
				t.Errorf("%s %s %s: Beneath lists route %d (%s), whose glob matches no member", method, host, path, i, rcs[i].Path)
			}
		}
		if t.Failed() {
			t.Logf("depth %d, routes: %+v", depth, rcs)
		}
	})
}
