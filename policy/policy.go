// Package policy compiles the route table and decides, for one request, which
// route applies and whether an identity satisfies it. Everything here is a
// pure function of (method, host, path, Identity): no I/O, no clock.
package policy

import (
	"errors"
	"fmt"

	"github.com/portcullis/portcullis"
)

// RouteConfig is one [[routes]] entry of the configuration file.
type RouteConfig struct {
	Line     int    // line of the [[routes]] header in the file, for check --request
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
}

// Table is the compiled route table. It is immutable and safe for concurrent use.
type Table struct {
	routes []*Route
}

// ErrBadPath is returned by Normalize for paths that SPEC §3 refuses with 400.
var ErrBadPath = errors.New("policy: path refused")

// Compile checks and compiles routes in file order.
func Compile(routes []RouteConfig) (*Table, error) {
	panic("not implemented")
}

// Routes returns the compiled routes in file order.
func (t *Table) Routes() []*Route { return t.routes }

// Match returns the first route in file order that matches, or nil.
// method must be upper-case (HEAD matches GET routes), host is the raw Host
// header value (port, case and a trailing dot are ignored), and path must
// come from Normalize.
func (t *Table) Match(method, host, path string) *Route {
	panic("not implemented")
}

// Normalize turns a request's escaped path (url.URL.EscapedPath) into the one
// normalised path that is matched and forwarded, or returns an error wrapping
// ErrBadPath.
func Normalize(escapedPath string) (string, error) {
	panic("not implemented")
}

// Evaluate decides whether id satisfies the route. id is nil when the request
// carries no identity.
func (r *Route) Evaluate(id *portcullis.Identity) portcullis.Decision {
	panic("not implemented")
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
