package policy

import "strings"

// Beneath calls fn, in file order, for each route with an Index below
// before that the method and host may match (host as Match takes it) and
// whose path glob matches some path strictly beneath path (a Normalize
// result): path, without its trailing slashes, followed by "/" and one
// segment or more. A WebDAV COPY, MOVE or DELETE of a collection acts on
// every member, so the routes of its members decide it too. It scans
// every route: only such requests pay for it.
func (t *Table) Beneath(method, host, path string, before int, fn func(*Route)) {
	base := strings.TrimRight(MatchKey(path), "/")
	var segs []string
	if base != "" {
		segs = strings.Split(base[1:], "/")
	}
	bit := t.methodBit(method)
	longest := 0
	for _, r := range t.routes {
		longest = max(longest, len(r.segments))
	}
	buf := make([]bool, 2*(longest+1)) // matchesBeneath's two position sets, for every route
	for _, r := range t.routes {
		if r.Index >= before {
			return
		}
		if r.methods&bit != 0 && (r.host == "" || Covers(r.host, host)) && matchesBeneath(r.segments, segs, buf) {
			fn(r)
		}
	}
}

// matchesBeneath reports whether glob matches segs followed by one or more
// segments of any content. It keeps the set of glob positions segs can
// reach, so several "**" cost len(glob) times len(segs) steps, not more;
// buf holds 2*(len(glob)+1) booleans or more.
func matchesBeneath(glob, segs []string, buf []bool) bool {
	at, next := buf[:len(glob)+1], buf[len(glob)+1:2*(len(glob)+1)]
	clear(at)
	at[0] = true
	skipDoubleStars(glob, at)
	for _, seg := range segs {
		clear(next)
		for i, g := range glob {
			if !at[i] {
				continue
			}
			switch {
			case g == "**":
				next[i] = true
			case g == "*" && seg != "", g == seg:
				next[i+1] = true
			}
		}
		at, next = next, at
		skipDoubleStars(glob, at)
	}
	// What remains of glob, when anything does, matches some segments.
	for i := range glob {
		if at[i] {
			return true
		}
	}
	return false
}

// skipDoubleStars marks, after each reached "**", the position past it: a
// "**" matches zero segments too.
func skipDoubleStars(glob []string, at []bool) {
	for i, g := range glob {
		if at[i] && g == "**" {
			at[i+1] = true
		}
	}
}

// HoldsBeneath reports whether the route matches every path beneath a path
// it matches: its glob ends in "**". Routes after it then never decide one.
func (r *Route) HoldsBeneath() bool {
	return len(r.segments) > 0 && r.segments[len(r.segments)-1] == "**"
}
