package policy

import (
	"sort"
	"strings"
)

// Shadow reports that earlier routes decide requests a later route also
// matches, because the first matching route in file order wins.
type Shadow struct {
	Route *Route   // the later route
	By    []*Route // the earlier routes that match first, in file order
	// Methods is nil when By decide every request Route matches (Route is
	// unreachable); otherwise the methods for which they do, when Route is
	// a deny route that therefore does not deny them.
	Methods []string
}

// Shadowed lists the routes that no request can reach, and the deny routes
// that some methods never reach, in file order. It is conservative: an
// earlier route counts only when its host covers the later route's host
// (any host; the same host; a wildcard over it) and its path pattern
// matches every path the later one matches; several such routes may
// cover the later route's methods together. So a route it reports is
// certainly unreachable (for the methods named); it misses overlaps that
// only a union of hosts or path patterns covers.
func (t *Table) Shadowed() []Shadow {
	var out []Shadow
	for j, n := range t.routes {
		var covered uint64
		var by []*Route
		for _, m := range t.routes[:j] {
			if m.methods&n.methods == 0 || !hostCovers(m.host, n.host) || !pathCovers(m.segments, n.segments) {
				continue
			}
			covered |= m.methods & n.methods
			by = append(by, m)
		}
		switch {
		case by == nil:
		case covered == n.methods:
			out = append(out, Shadow{Route: n, By: by})
		case n.Deny:
			if c := t.reachedByEffects(covered, n.methods); c != 0 {
				out = append(out, Shadow{Route: n, By: by, Methods: t.methodNames(c)})
			}
		}
	}
	return out
}

// hostCovers reports whether every host that route host key n matches is
// matched by m (keys as compileHost returns them).
func hostCovers(m, n string) bool {
	switch {
	case m == "":
		return true
	case n == "":
		return false
	case m[0] == '.': // a wildcard covers itself, deeper wildcards and its subdomains
		return strings.HasSuffix(n, m)
	}
	return m == n
}

// pathCovers reports whether pattern m matches every path pattern n
// matches. It answers false when unsure.
func pathCovers(m, n []string) bool {
	memo := make(map[[2]int]bool)
	var covers func(i, j int) bool
	covers = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(m):
			ok = j == len(n)
		case m[i] == "**":
			// "**" matches nothing of n's rest, or absorbs n's next step,
			// whatever that step matches.
			ok = covers(i+1, j) || j < len(n) && covers(i, j+1)
		case j == len(n) || n[j] == "**":
			ok = false
		case m[i] == "*":
			ok = n[j] != "" && covers(i+1, j+1) // "*" is one non-empty segment; n's "*" is too
		default:
			ok = m[i] == n[j] && covers(i+1, j+1)
		}
		memo[key] = ok
		return ok
	}
	return covers(0, 0)
}

// methodNames names the methods of mask: the standard ones in RFC 9110
// order, then the custom ones, then "other methods" for otherMethod.
func (t *Table) methodNames(mask uint64) []string {
	var out []string
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"} {
		if mask&standardMethodBit(m) != 0 {
			out = append(out, m)
		}
	}
	var custom []string
	for m, b := range t.custom {
		if mask&b != 0 {
			custom = append(custom, m)
		}
	}
	sort.Strings(custom)
	out = append(out, custom...)
	if mask&otherMethod != 0 {
		out = append(out, "any other method")
	}
	return out
}
