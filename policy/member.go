package policy

import (
	"slices"
	"strings"
)

// A direct member's last segment when any is meant (anyMember: a glob's
// literal may name it) or one no glob names (newMember: only "*" and "**"
// match it). Neither is a segment of a MatchKey, which decodes no control
// character.
const (
	anyMember = "\x00"
	newMember = "\x01"
)

// The paths a collection's direct members add to it: "/x", "/x/" (a
// member collection) and "/" (the collection's own slash form, which
// Beneath's deeper rule counts too); memberTails with any x, newTails with
// one that only a wildcard matches.
var (
	memberTails = [3][]string{{anyMember}, {anyMember, ""}, {""}}
	newTails    = [3][]string{{newMember}, {newMember, ""}, {""}}
)

// matchesMember is matchesBeneath for the direct members of base: whether
// glob matches one (some) and every one (all).
func matchesMember(glob []string, base string) (some, all bool) {
	all = true
	for i := range memberTails {
		some = some || fitsMember(glob, base, memberTails[i])
		all = all && fitsMember(glob, base, newTails[i])
	}
	return some, all
}

// fitsMember reports whether glob matches base followed by tail's
// segments. It reads base from its start for the glob's segments before
// its first "**" and from its end for those after its last; only a glob
// with segments between two "**" ("/**/private/**") scans the rest, to
// place them, leftmost first.
func fitsMember(glob []string, base string, tail []string) bool {
	m := segments{rest: base, tail: tail}
	first := slices.Index(glob, "**")
	if first < 0 {
		first = len(glob)
	}
	for _, g := range glob[:first] {
		if s, ok := m.front(); !ok || !segmentFits(g, s) {
			return false
		}
	}
	if first == len(glob) {
		return m.rest == "" && len(m.tail) == 0
	}
	last := len(glob) - 1
	for ; glob[last] != "**"; last-- {
		if s, ok := m.back(); !ok || !segmentFits(glob[last], s) {
			return false
		}
	}
	for chunk := glob[first:last]; len(chunk) > 0; {
		chunk = chunk[1:] // a "**"
		n := slices.Index(chunk, "**")
		if n < 0 {
			n = len(chunk)
		}
		if n > 0 && !m.place(chunk[:n]) {
			return false
		}
		chunk = chunk[n:]
	}
	return true
}

// segmentFits reports whether a glob's segment g (not "**") matches s.
func segmentFits(g, s string) bool {
	switch s {
	case anyMember:
		return g != ""
	case newMember:
		return g == "*"
	}
	return g == s || (g == "*" && s != "")
}

// segments is a path ("" or "/a/b") followed by more segments, taken from
// either end.
type segments struct {
	rest string
	tail []string
}

func (m *segments) front() (string, bool) {
	if m.rest == "" {
		if len(m.tail) == 0 {
			return "", false
		}
		s := m.tail[0]
		m.tail = m.tail[1:]
		return s, true
	}
	s := m.rest[1:]
	m.rest = ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, m.rest = s[:i], s[i:]
	}
	return s, true
}

func (m *segments) back() (string, bool) {
	if n := len(m.tail); n > 0 {
		s := m.tail[n-1]
		m.tail = m.tail[:n-1]
		return s, true
	}
	if m.rest == "" {
		return "", false
	}
	i := strings.LastIndexByte(m.rest, '/')
	s := m.rest[i+1:]
	m.rest = m.rest[:i]
	return s, true
}

// place consumes the segments up to and including the first run that
// chunk (no "**") matches, reporting whether there is one.
func (m *segments) place(chunk []string) bool {
	for {
		c, fits := *m, true
		for _, g := range chunk {
			if s, ok := c.front(); !ok || !segmentFits(g, s) {
				fits = false
				break
			}
		}
		if fits {
			*m = c
			return true
		}
		if _, ok := m.front(); !ok {
			return false
		}
	}
}
