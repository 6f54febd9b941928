// Package policy compiles the route table and decides, for one request, which
// route applies and whether an identity satisfies it. Everything here is a
// pure function of (method, host, path, Identity): no I/O, no clock.
package policy

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// RouteConfig is one [[routes]] entry of the configuration file.
type RouteConfig struct {
	Line     int    // line of the [[routes]] header in the file, for check --request
	Name     string // optional label for logs, metrics and check; see ValidRouteName
	Host     string // "" (any), "dash.example.com" or "*.example.com"
	Path     string // glob over normalised segments: "*" one segment, "**" zero or more
	Methods  []string
	Upstream string // name of an [[upstreams]] entry, already defaulted by config
	Public   bool
	Deny     bool

	RequireScopes     []string
	AllowGroups       []string
	AllowEmails       []string
	AllowEmailDomains []string
	RequireClaims     map[string]string // dotted claim path -> value (or array element)
}

// Route is a compiled route. It is immutable and safe for concurrent use.
type Route struct {
	RouteConfig
	Index int // position in file order

	key      string   // Name, or Index in decimal, see Key
	host     string   // lower-cased: "" any, "a.example.com" exact, ".example.com" wildcard suffix
	segments []string // normalised path segments; "*" and "**" are globs
	methods  uint64   // method bits, see Table.methodBit
	rules    rules    // precomputed conditions for Evaluate
}

// Key returns a short, stable name of the route for logs, metric labels and
// per-route bookkeeping such as step-up attempts: its Name when it has one,
// else its index in file order in decimal. It is always a safe label (see
// ValidRouteName) and never contains request input.
func (r *Route) Key() string { return r.key }

// HostPattern returns the route's host as it is matched: "" for any host,
// the lower-cased name without a trailing dot for an exact host, and
// ".example.com" for "*.example.com".
func (r *Route) HostPattern() string { return r.host }

// Label returns how check and warnings name the route: "routes[3]", or
// `routes[3] ("api-write")` when it has a name.
func (r *Route) Label() string {
	if r.Name == "" {
		return "routes[" + strconv.Itoa(r.Index) + "]"
	}
	return "routes[" + strconv.Itoa(r.Index) + "] (" + strconv.Quote(r.Name) + ")"
}

// ValidRouteName reports whether name may name a route: 1 to 64 ASCII
// letters, digits, "-", "_" and ".", starting with a letter (so that it
// cannot be mistaken for another route's index), and not "gateway" or
// "none", the labels of requests that no route decides. Such a name is safe
// in a log line, a Prometheus label value and a cookie.
func ValidRouteName(name string) bool {
	if name == "" || len(name) > 64 || !('a' <= name[0] && name[0] <= 'z' || 'A' <= name[0] && name[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return name != "gateway" && name != "none" // the labels of requests no route decides
}

// Table is the compiled route table. It is immutable and safe for concurrent use.
type Table struct {
	routes []*Route

	anyHost *node            // routes without host
	exact   map[string]*node // lower-cased host -> routes for exactly that host
	wild    map[string]*node // ".example.com" -> routes for "*.example.com"
	wildMin int              // lowest Index among wildcard-host routes
	custom  map[string]uint64
	names   map[string]int // route name -> Index of the route that has it

	slashEnd bool // some route's path ends in "/" after a segment (SlashEnds)
}

// ErrBadPath is returned by Normalize for paths that docs/requests.md refuses with 400.
var ErrBadPath = errors.New("policy: path refused")

// Compile checks and compiles routes in file order. The first bad route is
// reported as a *RouteError; Validate lists all of them.
func Compile(routes []RouteConfig) (*Table, error) {
	t := &Table{
		anyHost: newNode(),
		wildMin: math.MaxInt,
		exact:   map[string]*node{},
		wild:    map[string]*node{},
		custom:  map[string]uint64{},
		names:   map[string]int{},
	}
	for i := range routes {
		r, err := t.compileRoute(i, routes[i])
		if err != nil {
			return nil, err
		}
		t.routes = append(t.routes, r)
		t.insert(r)
		t.slashEnd = t.slashEnd || endsInSlash(r.segments)
	}
	return t, nil
}

// Validate checks routes like Compile and returns every problem found, at
// most one per route, so that `portcullis check` can list them all.
func Validate(routes []RouteConfig) []*RouteError {
	t := &Table{custom: map[string]uint64{}, names: map[string]int{}}
	var errs []*RouteError
	for i := range routes {
		if _, err := t.compileRoute(i, routes[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Routes returns the compiled routes in file order.
func (t *Table) Routes() []*Route { return t.routes }

// compileRoute validates one route and precomputes what matching and
// evaluation need. It registers new custom methods in t.custom.
func (t *Table) compileRoute(i int, rc RouteConfig) (*Route, *RouteError) {
	fail := func(key, format string, args ...any) *RouteError {
		return &RouteError{Index: i, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	r := &Route{RouteConfig: rc, Index: i, key: strconv.Itoa(i)}
	if rc.Name != "" {
		if !ValidRouteName(rc.Name) {
			return nil, fail("name", `%q is not a route name: 1 to 64 letters, digits, "-", "_" or ".", starting with a letter; not "gateway" or "none"`, rc.Name)
		}
		if j, dup := t.names[rc.Name]; dup {
			return nil, fail("name", "duplicate route name %q (routes[%d] has it)", rc.Name, j)
		}
		t.names[rc.Name] = i
		r.key = rc.Name
	}
	var err error
	if r.host, err = compileHost(rc.Host); err != nil {
		return nil, fail("host", "%v", err)
	}
	if r.segments, err = compilePath(rc.Path); err != nil {
		return nil, fail("path", "%v", err)
	}
	if r.methods, err = t.methodMask(rc.Methods); err != nil {
		return nil, fail("methods", "%v", err)
	}
	if rc.Public && (rc.Deny || hasConditions(rc)) {
		return nil, fail("public", "a public route cannot also deny or set conditions")
	}
	key, err := r.rules.compile(rc)
	if err != nil {
		return nil, fail(key, "%v", err)
	}
	return r, nil
}

func hasConditions(rc RouteConfig) bool {
	return len(rc.RequireScopes) > 0 || len(rc.AllowGroups) > 0 || len(rc.AllowEmails) > 0 ||
		len(rc.AllowEmailDomains) > 0 || len(rc.RequireClaims) > 0
}

// RouteError is what Compile returns for a bad route: Index is the route's
// position in file order and Key the offending key ("path", "host", ...), so
// that config can name the line.
type RouteError struct {
	Index int
	Key   string
	Msg   string
}

func (e *RouteError) Error() string {
	return fmt.Sprintf("policy: routes[%d].%s: %s", e.Index, e.Key, e.Msg)
}
