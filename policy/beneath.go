package policy

import (
	"math"
	"slices"
	"strings"
)

// Infinity is the depth of a request that acts on every member beneath
// its path, however deep (Table.Beneath).
const Infinity = math.MaxInt

// Beneath calls fn, in file order, for each route with an Index below
// before that the method and host may match (host as Match takes it) and
// whose path glob matches some path strictly beneath path (a Normalize
// result): path, without its trailing slashes, followed by "/" and one
// segment or more. A WebDAV COPY, MOVE or DELETE of a collection acts on
// every member, so the routes of its members decide it too. It stops
// after a route that matches every such path ("/files/**" beneath
// "/files/x"): no later route decides one, and a stricter catch-all after
// it would refuse what no member's route refuses. It scans
// every route, reading no more of the path than a glob has segments
// before its first "**": only such requests pay for it, and a long path
// costs no more than a short one. It does not allocate unless the path
// holds an escape MatchKey decodes. With depth 1 the members are the
// direct ones only (path, "/" and one segment, with or without a trailing
// slash): a PROPFIND or REPORT of depth 1 reads those (RFC 4918 §9.1); any
// other depth (Infinity) means every member.
func (t *Table) Beneath(method, host, path string, depth, before int, fn func(*Route)) {
	base := strings.TrimRight(MatchKey(path), "/")
	bit := t.methodBit(method)
	for _, r := range t.routes {
		if r.Index >= before {
			return
		}
		if r.methods&bit == 0 || (r.host != "" && !Covers(r.host, host)) {
			continue
		}
		if some, all := matchesBeneath(r.segments, base, depth); some {
			fn(r)
			if all {
				return
			}
		}
	}
}

// matchesBeneath reports whether glob matches base ("" or "/a/b", without
// a trailing slash) followed by "/" and one or more segments of any
// content (some), and whether it matches every such path (all). Its
// segments before its first "**" must match base's first ones, as many as
// base has; that "**" may then take the rest of base, and what follows it
// matches some segments, or every one when it is "**" alone. A glob
// without "**" must also be longer than base: a member has one segment
// more. With depth 1 it asks about the direct members (matchesMember).
func matchesBeneath(glob []string, base string, depth int) (some, all bool) {
	if depth == 1 {
		return matchesMember(glob, base)
	}
	rest := base
	for i, g := range glob {
		if g == "**" {
			return true, !slices.ContainsFunc(glob[i:], func(g string) bool { return g != "**" })
		}
		if rest == "" {
			return true, false
		}
		seg := rest[1:]
		rest = ""
		if j := strings.IndexByte(seg, '/'); j >= 0 {
			seg, rest = seg[:j], seg[j:]
		}
		if g != seg && (g != "*" || seg == "") {
			return false, false
		}
	}
	return false, false
}

// HoldsBeneath reports whether the route matches every path beneath a path
// it matches: its glob ends in "**". Routes after it then never decide one.
func (r *Route) HoldsBeneath() bool {
	return len(r.segments) > 0 && r.segments[len(r.segments)-1] == "**"
}
