package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/portcullis/portcullis/policy"
)

// validateUpstreams checks every [[upstreams]] entry and returns their
// parsed URLs by name.
func (d *decoder) validateUpstreams(us []upstreamSection) map[string]*url.URL {
	if len(us) == 0 {
		d.problem("upstreams", "at least one [[upstreams]] entry is required")
	}
	byName := map[string]*url.URL{}
	for _, u := range us {
		switch {
		case strings.TrimSpace(u.Name) == "":
			d.problem(u.path+".name", "required")
		case byName[u.Name] != nil:
			d.problem(u.path+".name", "duplicate upstream name %q", u.Name)
		}
		var parsed *url.URL
		if u.URL == "" {
			d.problem(u.path+".url", "required")
		} else {
			parsed = d.checkUpstreamURL(u.path+".url", u.URL)
		}
		if u.Name != "" && byName[u.Name] == nil {
			byName[u.Name] = parsed
			if parsed == nil {
				byName[u.Name] = &url.URL{} // known name, bad URL: do not cascade
			}
		}
		if u.TLSSkipVerify {
			d.warn(u.path+".tls_skip_verify", "TLS certificates of this upstream are not verified")
		}
		if u.AssertionAudience != "" && !validAudience(u.AssertionAudience) {
			d.problem(u.path+".assertion_audience", "must be 1 to 255 printable characters without spaces, got %q", u.AssertionAudience)
		}
	}
	return byName
}

// checkUpstreamURL parses an upstream's URL: http(s), or h2c:// for an
// upstream that speaks HTTP/2 in cleartext (a gRPC server without TLS), as
// Pomerium spells it. Its path is checked as any upstream's.
func (d *decoder) checkUpstreamURL(key, raw string) *url.URL {
	u := d.checkURLOf(key, raw, true, true)
	d.checkUpstreamPath(key, raw, u)
	return u
}

// checkUpstreamPath refuses an upstream URL whose path the gateway would
// not forward itself. The proxy joins that path, as written, in front of
// every authorized path; the routes decide the client's path alone, so the
// base must hold nothing an upstream may read otherwise: no dot-segment
// that climbs out of it, no "//", ";", encoded "/" "\" "?" "#" "%" ";", or
// control character. policy.Normalize's rules decide, and a path it would
// rewrite (dot-segments, "//", an escape it decodes) names the form to
// write, so the upstream receives exactly what the file says.
func (d *decoder) checkUpstreamPath(key, raw string, u *url.URL) {
	if u == nil {
		return
	}
	p := u.EscapedPath() // what the proxy joins (forward.go)
	if p == "" || p == "/" {
		return
	}
	n, err := policy.Normalize(p)
	switch {
	case err != nil:
		why := strings.TrimPrefix(err.Error(), policy.ErrBadPath.Error()+": ")
		d.problem(key, "%q has a path the gateway would not forward (%s): it goes in front of every forwarded path, so write it as the upstream must receive it", withoutUserinfo(raw), why)
	case n != p:
		d.problem(key, "%q has a path that is not in normal form: it goes in front of every forwarded path, so write it as the upstream receives it, %q", withoutUserinfo(raw), n)
	}
}

// validAudience reports whether a configured assertion audience is a
// plain token: an upstream compares it with the assertion's aud, so spaces
// and control characters are only ever a mistake.
func validAudience(a string) bool {
	if len(a) > 255 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] <= ' ' || a[i] == 0x7f {
			return false
		}
	}
	return true
}

// validateRoutes checks every [[routes]] entry, defaults upstream when
// there is exactly one, and compiles the table with policy.Compile, naming
// the line of the key a policy.RouteError points at.
func (d *decoder) validateRoutes(rs []routeSection, upstreams map[string]*url.URL, nUpstreams int) []policy.RouteConfig {
	if len(rs) == 0 {
		d.problem("routes", "at least one [[routes]] entry is required (nothing is allowed by default)")
	}
	out := make([]policy.RouteConfig, 0, len(rs))
	for _, r := range rs {
		out = append(out, d.validateRoute(r, upstreams, nUpstreams))
	}
	return out
}

// validateRoute checks one [[routes]] entry and translates it; its
// upstream defaults to the only one.
func (d *decoder) validateRoute(r routeSection, upstreams map[string]*url.URL, nUpstreams int) policy.RouteConfig {
	if r.Path == "" {
		d.problem(r.path+".path", "required")
	}
	up := d.routeUpstream(r, upstreams, nUpstreams)
	d.checkRouteHost(r)
	d.checkRouteMethods(r)
	d.checkEmptyRules(r)
	for _, k := range sortedKeys(r.RequireClaims) {
		if strings.TrimSpace(k) == "" {
			d.problem(joinKey(r.path+".require_claims", k), "claim path must not be empty")
		}
	}
	return policy.RouteConfig{
		Line:              d.lineOf(r.path),
		Name:              r.Name,
		Host:              r.Host,
		Path:              r.Path,
		Methods:           r.Methods,
		Upstream:          up,
		Public:            r.Public,
		Deny:              r.Deny,
		RequireScopes:     r.RequireScopes,
		AllowGroups:       r.AllowGroups,
		AllowEmails:       r.AllowEmails,
		AllowEmailDomains: r.AllowEmailDomains,
		RequireClaims:     r.RequireClaims,
	}
}

// routeUpstream is the name of the route's upstream: its own, else the
// only one there is; it must name an [[upstreams]] entry.
func (d *decoder) routeUpstream(r routeSection, upstreams map[string]*url.URL, nUpstreams int) string {
	up := r.Upstream
	switch {
	case up == "" && nUpstreams == 1:
		for name := range upstreams {
			up = name
		}
	case up == "" && nUpstreams > 1:
		d.problem(r.path+".upstream", "required when there is more than one upstream")
	case up != "" && upstreams[up] == nil:
		d.problem(r.path+".upstream", "no [[upstreams]] entry is named %q", up)
	}
	return up
}

// checkRouteHost checks the route's host: a name or "*.domain" that a
// request's Host can name.
func (d *decoder) checkRouteHost(r routeSection) {
	if r.Host == "" {
		return
	}
	// policy.HostKey: a host no request's Host could name ("1.2.3", an
	// IPv6 literal) would be a route that never matches.
	if _, err := policy.HostKey(r.Host); err != nil || !validHostname(strings.TrimPrefix(r.Host, "*.")) {
		d.problem(r.path+".host", `must be a host name or "*.domain" (no port), got %q`, r.Host)
	}
}

// checkRouteMethods refuses "*" and methods that are not upper-case
// tokens.
func (d *decoder) checkRouteMethods(r routeSection) {
	for i, m := range r.Methods {
		if m == "*" {
			d.problem(fmt.Sprintf("%s.methods[%d]", r.path, i), `"*" is not a method: leave methods out for every method`)
			continue
		}
		if !isToken(m) || strings.ToUpper(m) != m {
			d.problem(fmt.Sprintf("%s.methods[%d]", r.path, i), "methods are upper-case tokens such as \"GET\", got %q", m)
		}
	}
}

// compileRoutes reports every route policy refuses (policy.Validate), at
// the line of the key it names, then compiles the table when nothing is
// wrong with the routes.
func (d *decoder) compileRoutes(routes []policy.RouteConfig) *policy.Table {
	if len(routes) == 0 {
		return nil
	}
	for _, re := range policy.Validate(routes) {
		key := fmt.Sprintf("routes[%d].%s", re.Index, re.Key)
		if !d.hasProblemAt(key) { // config's own check already said it
			d.problem(key, "%s", strings.TrimPrefix(re.Msg, "policy: "))
		}
	}
	if d.hasProblemAt("routes") {
		return nil
	}
	table, err := policy.Compile(routes)
	if err == nil {
		d.warnShadowed(table)
		return table
	}
	var re *policy.RouteError
	if errors.As(err, &re) {
		d.problem(fmt.Sprintf("routes[%d].%s", re.Index, re.Key), "%s", re.Msg)
	} else {
		d.problem("routes", "%s", strings.TrimPrefix(err.Error(), "policy: "))
	}
	return nil
}

// sortedKeys returns m's keys in order, so problems come out deterministically.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// warnUnderPrefix warns about a route whose path lies under the gateway's
// own prefix: the gateway answers every path there itself (its endpoints,
// else 404), on every host, so such a route never decides a request.
func (d *decoder) warnUnderPrefix(prefix string, rs []routeSection) {
	for _, r := range rs {
		if r.Path == prefix || strings.HasPrefix(r.Path, prefix+"/") {
			d.warn(r.path+".path", "unreachable: %q is under server.prefix %q, whose paths the gateway answers itself on every host; "+
				"change server.prefix if the application needs them", r.Path, prefix)
		}
	}
}

// warnShadowed warns about the routes that earlier routes always decide
// (policy.Table.Shadowed), naming those earlier routes and their lines.
func (d *decoder) warnShadowed(table *policy.Table) {
	for _, s := range table.Shadowed() {
		var by []string
		for _, r := range s.By {
			by = append(by, fmt.Sprintf("%s at line %d", r.Label(), r.Line))
		}
		verb := "always matches"
		if len(by) > 1 {
			verb = "always match"
		}
		key := fmt.Sprintf("routes[%d]", s.Route.Index)
		if s.Methods == nil {
			d.warn(key, "unreachable: %s %s first", strings.Join(by, " and "), verb)
			continue
		}
		d.warn(key, "deny never applies to %s: %s %s first (list this route first, or give it methods)",
			strings.Join(s.Methods, ", "), strings.Join(by, " and "), verb)
	}
}

// warnSharedAudience warns when routes to two different upstreams, neither
// with assertion_audience, can derive the same assertion aud: the same
// exact host, an exact host under a wildcard ("*.example.com"), two
// overlapping wildcards, or no host at all, whose aud is public_url's host
// (pub's): the same as a route for that host derives, or a wildcard's over
// it. An app behind one of them (or anyone who reads its requests) could
// then replay the assertions it receives to the other, whose aud check
// would accept them (docs/headers.md, "Assertion audience").
func (d *decoder) warnSharedAudience(h *headersSection, pub *url.URL, us []upstreamSection, rs []routeSection) {
	if h.Assertion == "" || len(us) < 2 {
		return
	}
	public := ""
	if pub != nil {
		public = publicName(pub)
	}
	fixed := map[string]bool{}
	for _, u := range us {
		fixed[u.Name] = u.AssertionAudience != ""
	}
	type sender struct{ host, upstream string } // host: "", "a.example.com" or ".example.com"
	var seen []sender
	warned := map[[2]string]bool{}
	for _, r := range rs {
		if r.Public || r.Upstream == "" || fixed[r.Upstream] {
			continue
		}
		host := hostKey(r.Host)
		if host == "" {
			host = public // without its port: a route for that host derives the same aud on it
		}
		for _, o := range seen {
			pair := [2]string{o.upstream, r.Upstream}
			aud, shared := sharedAudience(o.host, host)
			if o.upstream == r.Upstream || warned[pair] || !shared {
				continue
			}
			warned[pair] = true
			what := "public_url's host"
			if aud != "" && aud != public {
				what = fmt.Sprintf("the host %q", aud)
			}
			d.warn(r.path+".upstream", "upstreams %q and %q both get assertions whose aud is %s: either app can replay them to the other; set assertion_audience on each", o.upstream, r.Upstream, what)
		}
		seen = append(seen, sender{host, r.Upstream})
	}
}

// sharedAudience reports whether routes with the hosts a and b (as
// warnSharedAudience writes them) can derive the same aud, and names it:
// the more specific of the two.
func sharedAudience(a, b string) (string, bool) {
	under := func(name, wildcard string) bool {
		return wildcard != "" && wildcard[0] == '.' && len(name) > len(wildcard) && strings.HasSuffix(name, wildcard)
	}
	name := func(h string) string {
		if strings.HasPrefix(h, ".") {
			return "*" + h // a wildcard, as configured
		}
		return h
	}
	switch {
	case a == b, under(a, b):
		return name(a), true
	case under(b, a):
		return name(b), true
	}
	return "", false
}
