package oidctest

// Parts shared by the directory fakes (google.go, githuborgs.go, entra.go):
// the call log, the membership graph with nesting, and opaque page tokens.

import (
	"encoding/base64"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Call is one request a directory fake received, for assertions on what a
// client sent (Authorization is recorded verbatim: tests only, never logged).
type Call struct {
	Method        string
	Path          string
	Query         string // raw query
	Authorization string
}

// callLog records calls; safe for concurrent use.
type callLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *callLog) record(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization")})
}

// list returns the calls, optionally only those at path ("" = all).
func (l *callLog) list(path string) []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Call
	for _, c := range l.calls {
		if path == "" || c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// memberGraph is a directory's membership data: the groups each member (a
// user or a group) belongs to directly. Groups may be members of groups, and
// cycles are allowed (Google and Entra both permit them). The owner locks.
type memberGraph struct {
	direct map[string][]string // member -> groups it is a direct member of
}

func (m *memberGraph) set(member string, groups []string) {
	if m.direct == nil {
		m.direct = map[string][]string{}
	}
	m.direct[member] = slices.Clone(groups)
}

func (m *memberGraph) known(member string) bool {
	_, ok := m.direct[member]
	return ok
}

// directOf is the sorted direct memberships of member.
func (m *memberGraph) directOf(member string) []string {
	out := slices.Clone(m.direct[member])
	sort.Strings(out)
	return slices.Compact(out)
}

// Relation of a member to a group it belongs to, named as Cloud Identity's
// GroupRelation.relationType.
const (
	relDirect         = "DIRECT"
	relIndirect       = "INDIRECT"
	relDirectIndirect = "DIRECT_AND_INDIRECT"
)

// transitive is every group member belongs to, directly or through nested
// groups, with the relation; the keys sorted in the returned slice.
func (m *memberGraph) transitive(member string) ([]string, map[string]string) {
	rel := map[string]string{}
	for _, g := range m.direct[member] {
		rel[g] = relDirect
	}
	seen := map[string]bool{member: true}
	queue := slices.Clone(m.direct[member])
	for len(queue) > 0 {
		g := queue[0]
		queue = queue[1:]
		if seen[g] {
			continue
		}
		seen[g] = true
		for _, parent := range m.direct[g] {
			switch rel[parent] {
			case "":
				rel[parent] = relIndirect
			case relDirect:
				rel[parent] = relDirectIndirect
			}
			queue = append(queue, parent)
		}
	}
	delete(rel, member) // a cycle back to the member itself is no membership
	keys := make([]string, 0, len(rel))
	for k := range rel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, rel
}

// pageToken is an opaque continuation token bound to one query (so a token
// from another query is refused, as real APIs do) holding the next offset.
func pageToken(binding string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + "|" + binding))
}

// parsePageToken returns the offset of a token made by pageToken for the
// same binding; "" is the first page.
func parsePageToken(tok, binding string) (int, bool) {
	if tok == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	off, bind, ok := strings.Cut(string(b), "|")
	n, err := strconv.Atoi(off)
	if !ok || err != nil || n < 0 || bind != binding {
		return 0, false
	}
	return n, true
}

// pageBounds clamps [off, off+size) to n items.
func pageBounds(off, size, n int) (int, int) {
	if off > n {
		off = n
	}
	end := off + size
	if end > n {
		end = n
	}
	return off, end
}
