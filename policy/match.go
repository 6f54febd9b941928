package policy

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
)

// Path globs work on segments: the normalised path without its leading "/",
// split on "/". So "/" is [""], "/a" is ["a"] and "/a/" is ["a", ""]: a
// trailing slash is an empty last segment. Consequences, all deliberate:
//   - a literal pattern matches exactly: "/reports" does not match
//     "/reports/", and "/reports/" does not match "/reports";
//   - "*" is exactly one non-empty segment: "/users/*" matches "/users/42"
//     but not "/users/" nor "/users";
//   - "**" is zero or more segments of any kind: "/admin/**" matches "/admin",
//     "/admin/", "/admin/x/y", never "/administrator"; "/**" matches everything.

// node is one step of a segment trie. Each host class has its own trie.
type node struct {
	lit    map[string]*node // literal segment -> child
	star   *node            // "*" child
	dstar  *node            // "**" child
	isDStr bool             // this node is a "**" step: it may consume any number of segments
	routes []*Route         // routes whose pattern ends here, in file order
	min    int              // lowest route Index in this subtree, for pruning
	litMin int              // lowest route Index under lit, to skip the map lookup
}

func newNode() *node { return &node{min: math.MaxInt, litMin: math.MaxInt} }

// compilePath checks a route's path glob and returns its segments, literal
// ones normalised like request paths so that they compare equal.
func compilePath(p string) ([]string, error) {
	if p == "" || p[0] != '/' {
		return nil, errors.New(`path must start with "/"`)
	}
	for _, raw := range strings.Split(p[1:], "/") {
		if strings.Contains(raw, "*") && raw != "*" && raw != "**" {
			return nil, fmt.Errorf(`%q: "*" and "**" must be a whole segment`, raw)
		}
		// MatchKey reads a request's "%2A" as "*", and the pattern's too,
		// after this check: "/%2A/docs" became the glob "/*/docs".
		if strings.Contains(strings.ToUpper(raw), "%2A") {
			return nil, fmt.Errorf(`%q: an escaped "*" is read as "*", as a request's "%%2A" is, so it would be a glob or part of one: write "*" or "**" as a whole segment`, raw)
		}
		if d := strings.ReplaceAll(strings.ReplaceAll(raw, "%2e", "."), "%2E", "."); d == "." || d == ".." {
			return nil, fmt.Errorf("%q: dot-segments are not allowed in a route path", raw)
		}
	}
	norm, err := Normalize(p)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "policy: "))
	}
	// A request spelt composed ("ü") never matches a pattern spelt
	// otherwise ("u" and a combining diaeresis), while applications that
	// normalise paths serve both as one (ComposedPath).
	if c, differs, _ := ComposedPath(norm); differs {
		text, _ := url.PathUnescape(c)
		return nil, fmt.Errorf("not in composed form (NFKC), which requests spelt composed never match: write %q", text)
	}
	return strings.Split(MatchKey(norm)[1:], "/"), nil
}

// insert adds r to its host's trie. Routes arrive in file order, so every
// routes list stays sorted and the first Index to reach a node is its min.
func (t *Table) insert(r *Route) {
	var n *node
	switch {
	case r.host == "":
		n = t.anyHost
	case r.host[0] == '.':
		t.wildMin = min(t.wildMin, r.Index)
		if n = t.wild[r.host]; n == nil {
			n = newNode()
			t.wild[r.host] = n
		}
	default:
		if n = t.exact[r.host]; n == nil {
			n = newNode()
			t.exact[r.host] = n
		}
	}
	n.min = min(n.min, r.Index)
	for _, seg := range r.segments {
		if seg != "*" && seg != "**" {
			n.litMin = min(n.litMin, r.Index)
		}
		n = n.child(seg)
		n.min = min(n.min, r.Index)
	}
	n.routes = append(n.routes, r)
}

func (n *node) child(seg string) *node {
	switch seg {
	case "*":
		if n.star == nil {
			n.star = newNode()
		}
		return n.star
	case "**":
		if n.dstar == nil {
			n.dstar = newNode()
			n.dstar.isDStr = true
		}
		return n.dstar
	}
	if n.lit == nil {
		n.lit = map[string]*node{}
	}
	c := n.lit[seg]
	if c == nil {
		c = newNode()
		n.lit[seg] = c
	}
	return c
}

// Match returns the first route in file order that matches, or nil.
// method must be upper-case (HEAD matches GET routes), host is the
// request's host name as the gateway parsed it once (policy.ParseHost:
// lower-cased, without port or trailing dot; "" for none), compared as it
// is, and path must come from Normalize. Match canonicalises nothing
// itself but the path's MatchKey (the route paths are compiled in that form
// too): one parsed host serves matching and everything else.
//
// Match does not scan the routes: it walks the tries of the request's exact
// host, of the wildcard hosts that cover it and of the any-host routes, and
// keeps the candidate with the lowest Index, pruning every subtree whose
// lowest Index cannot beat the best found so far. It does not allocate
// unless the path holds an escape MatchKey decodes.
func (t *Table) Match(method, host, path string) *Route {
	if len(path) == 0 || path[0] != '/' {
		return nil
	}
	m := matcher{path: MatchKey(path), method: t.methodBit(method), best: math.MaxInt}
	h := host
	if len(h) > 0 {
		if n := t.exact[h]; n != nil {
			m.walk(n, 1)
		}
		// A host with an empty first label (".x.b.test") is no subdomain of
		// anything: wildcard hosts never cover it.
		for i := 1; i < len(h) && h[0] != '.' && t.wildMin < m.best; i++ {
			if h[i] != '.' {
				continue
			}
			if n := t.wild[h[i:]]; n != nil {
				m.walk(n, 1)
			}
		}
	}
	m.walk(t.anyHost, 1)
	return m.route
}

// NamesHost reports whether a route names host (as Match takes it): the
// route's exact host, or a wildcard host that covers it. Routes without a
// host name none. It does not allocate.
func (t *Table) NamesHost(host string) bool {
	if host == "" {
		return false
	}
	if t.exact[host] != nil {
		return true
	}
	for i := 1; i < len(host) && host[0] != '.' && len(t.wild) > 0; i++ {
		if host[i] == '.' && t.wild[host[i:]] != nil {
			return true
		}
	}
	return false
}

// NamesHostExactly reports whether a route names host itself, not through
// a wildcard.
func (t *Table) NamesHostExactly(host string) bool {
	return host != "" && t.exact[host] != nil
}

// matcher is the state of one Match. Positions are byte offsets into path
// where a segment starts; len(path)+1 means every segment is consumed.
type matcher struct {
	path   string
	method uint64
	best   int
	route  *Route

	// seen remembers, per "**" node, the lowest position it was entered at:
	// entering it again at or after that position finds nothing new, which
	// keeps patterns with several "**" from going exponential.
	seen  [8]seenEntry
	nseen int
	spill map[*node]int
}

type seenEntry struct {
	n   *node
	pos int
}

func (m *matcher) walk(n *node, pos int) {
	if n.min >= m.best {
		return
	}
	if !n.isDStr {
		m.step(n, pos)
		return
	}
	end, ok := m.enter(n, pos)
	if !ok {
		return
	}
	for p := pos; p != end; p = m.next(p) {
		m.step(n, p)
		if n.min >= m.best || p > len(m.path) {
			return
		}
	}
}

// step tries n's own routes (when every segment is consumed) and its
// children against the segment at pos.
func (m *matcher) step(n *node, pos int) {
	if pos > len(m.path) {
		for _, r := range n.routes {
			if r.Index >= m.best {
				break
			}
			if r.methods&m.method != 0 {
				m.best, m.route = r.Index, r
				break
			}
		}
		if n.dstar != nil {
			m.walk(n.dstar, pos)
		}
		return
	}
	end := strings.IndexByte(m.path[pos:], '/')
	if end < 0 {
		end = len(m.path)
	} else {
		end += pos
	}
	seg := m.path[pos:end]
	if n.litMin < m.best {
		if c := n.lit[seg]; c != nil {
			m.walk(c, end+1)
		}
	}
	if n.star != nil && seg != "" {
		m.walk(n.star, end+1)
	}
	if n.dstar != nil {
		m.walk(n.dstar, pos)
	}
}

// next returns the position after the segment at pos.
func (m *matcher) next(pos int) int {
	if pos > len(m.path) {
		return pos + 1
	}
	if i := strings.IndexByte(m.path[pos:], '/'); i >= 0 {
		return pos + i + 1
	}
	return len(m.path) + 1
}

// enter records that "**" node n is entered at pos and returns the position
// at which its walk may stop (where an earlier walk started), or false when
// an earlier walk already covered pos.
func (m *matcher) enter(n *node, pos int) (end int, ok bool) {
	end = len(m.path) + 2
	for i := 0; i < m.nseen; i++ {
		if e := &m.seen[i]; e.n == n {
			if pos >= e.pos {
				return 0, false
			}
			end, e.pos = e.pos, pos
			return end, true
		}
	}
	if prev, found := m.spill[n]; found {
		if pos >= prev {
			return 0, false
		}
		end = prev
	}
	if m.nseen < len(m.seen) {
		m.seen[m.nseen] = seenEntry{n, pos}
		m.nseen++
		return end, true
	}
	if m.spill == nil {
		m.spill = map[*node]int{}
	}
	m.spill[n] = pos
	return end, true
}

// The standard methods have fixed bits; other methods named by routes get
// bits from 9 up; otherMethod stands for every method no route names, so
// that it only matches routes without a methods list.
const (
	otherMethod = uint64(1) << 63
	allMethods  = ^uint64(0)
	firstCustom = 9
)

func standardMethodBit(m string) uint64 {
	switch m {
	case "GET":
		return 1 << 0
	case "HEAD":
		return 1 << 1
	case "POST":
		return 1 << 2
	case "PUT":
		return 1 << 3
	case "PATCH":
		return 1 << 4
	case "DELETE":
		return 1 << 5
	case "OPTIONS":
		return 1 << 6
	case "CONNECT":
		return 1 << 7
	case "TRACE":
		return 1 << 8
	}
	return 0
}

func (t *Table) methodBit(m string) uint64 {
	if b := standardMethodBit(m); b != 0 {
		return b
	}
	if b, ok := t.custom[m]; ok {
		return b
	}
	return otherMethod
}

// methodMask checks a route's methods (upper-case RFC 9110 §5.6.2 tokens)
// and returns their bits; none means every method. GET brings HEAD along
// (RFC 9110 §9.3.2).
func (t *Table) methodMask(methods []string) (uint64, error) {
	if len(methods) == 0 {
		return allMethods, nil
	}
	var mask uint64
	for _, m := range methods {
		if err := checkMethod(m); err != nil {
			return 0, err
		}
		b := standardMethodBit(m)
		if b == 0 {
			if b = t.custom[m]; b == 0 {
				n := firstCustom + len(t.custom)
				if n >= 63 {
					return 0, fmt.Errorf("too many distinct methods (at most %d beyond the standard ones)", 63-firstCustom)
				}
				b = uint64(1) << n
				t.custom[m] = b
			}
		}
		mask |= b
		if m == "GET" {
			mask |= standardMethodBit("HEAD")
		}
	}
	return mask, nil
}

// ValidMethod reports whether method is an upper-case HTTP token (RFC 9110
// §9.1). docs/requests.md (entry checks) refuses other methods ("get", "Post") with 400 before
// matching, since routes list upper-case methods only.
func ValidMethod(method string) bool { return checkMethod(method) == nil }

func checkMethod(m string) error {
	if m == "" {
		return errors.New("empty method")
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		switch {
		case 'a' <= c && c <= 'z':
			return fmt.Errorf("method %q must be upper-case (requests with lower-case methods are refused)", m)
		case 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return fmt.Errorf("method %q is not an HTTP token", m)
		}
	}
	return nil
}

// Methods returns one method of every class the table tells apart: the
// standard methods, each method a route names (sorted), and last a stand-in
// for every method no route names. A decision that must hold whatever the
// method (a forward-auth request that names none) is made for each of them.
func (t *Table) Methods() []string {
	// The methods of RFC 9110 §9 and RFC 5789.
	standard := [...]string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
	out := make([]string, 0, len(standard)+len(t.custom)+1)
	out = append(out, standard[:]...)
	custom := make([]string, 0, len(t.custom))
	for m := range t.custom {
		custom = append(custom, m)
	}
	sort.Strings(custom)
	out = append(out, custom...)
	other := "X-OTHER-METHOD"
	for t.custom[other] != 0 {
		other += "-"
	}
	return append(out, other)
}
