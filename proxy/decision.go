package proxy

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// outcome is the kind of answer the gateway gave a request. The metric
// label, the log line's outcome and the span attribute are its String; they
// are derived from the exchange (exchange.outcome), never set as strings.
type outcome uint8

// The outcomes; the zero value is an error, so an answer nobody classified
// is never counted as allowed.
const (
	outcomeError outcome = iota
	outcomeBadRequest
	outcomeNoRoute
	outcomePublic
	outcomeAllowed
	outcomeUnauthenticated
	outcomeDenied
	outcomeLoginRedirect
)

// String is the outcome's metric label.
func (o outcome) String() string {
	switch o {
	case outcomeBadRequest:
		return "bad_request"
	case outcomeNoRoute:
		return "no_route"
	case outcomePublic:
		return "public"
	case outcomeAllowed:
		return "allowed"
	case outcomeUnauthenticated:
		return "unauthenticated"
	case outcomeDenied:
		return "denied"
	case outcomeLoginRedirect:
		return "login_redirect"
	}
	return "error"
}

// request is what a decision is about: in proxy mode the request received,
// in forward-auth the one the front proxy forwards.
type request struct {
	method string // "" only in forward-auth when no method is named: see decideEveryMethod
	host   Host
	path   string // from policy.Normalize
	// unnamed is set when method is decideEveryMethod's stand-in for every
	// method no route names, or a method the gateway cannot describe that
	// its route does not name (undescribed): a COPY or MOVE among them
	// (membersDepth).
	unnamed bool
}

// decision is what the gateway decided about one request, kept on the
// exchange: the route (nil when none matched) and the route's verdict
// (outcome, reason, missing scopes). The identity it was made for is the
// exchange's id.
type decision struct {
	route *policy.Route
	portcullis.Decision
	made bool
}

// outcome maps the route's verdict to the answer's kind.
func (d *decision) outcome() outcome {
	switch d.Outcome {
	case portcullis.OutcomePublic:
		return outcomePublic
	case portcullis.OutcomeAllow:
		return outcomeAllowed
	case portcullis.OutcomeUnauthenticated:
		return outcomeUnauthenticated
	case portcullis.OutcomeInsufficientScope, portcullis.OutcomeForbidden:
		return outcomeDenied
	}
	return outcomeNoRoute
}

// severity orders verdicts for decideEveryMethod: the answer for an
// unknown method is the most severe over every method. Without an identity
// "sign in" comes first, so that a front proxy starts a login.
func (d *decision) severity() int {
	switch d.Outcome {
	case portcullis.OutcomePublic:
		return 0
	case portcullis.OutcomeAllow:
		return 1
	case portcullis.OutcomeInsufficientScope:
		return 2
	case portcullis.OutcomeUnauthenticated:
		return 4
	}
	return 3 // forbidden, no route
}

// refusal is the error answer of a decision that does not let the request
// through; noRouteStatus is 404 in proxy mode and 403 in forward-auth.
func (d *decision) refusal(noRouteStatus int) *httpError {
	switch d.Outcome {
	case portcullis.OutcomeUnauthenticated:
		return unauthenticated()
	case portcullis.OutcomeInsufficientScope:
		return insufficientScope(d.MissingScopes, d.Reason)
	case portcullis.OutcomeForbidden:
		return forbidden(d.Reason)
	}
	return noRoute(noRouteStatus)
}

// sendsIdentity reports whether the identity goes with the answer: the
// upstream's identity headers in proxy mode, the identity response headers
// in forward-auth. Only an allowed, non-public decision with an identity
// sends it.
func (ex *exchange) sendsIdentity() bool {
	return ex.dec.made && ex.dec.Outcome == portcullis.OutcomeAllow && ex.dec.route != nil && ex.id != nil
}

// outcome is the kind of answer the exchange got: an error answer's kind,
// a login redirect, else the decision's, else a gateway endpoint that
// answered.
func (ex *exchange) outcome() outcome {
	switch {
	case ex.refused != nil:
		return ex.refused.kind
	case ex.loginRedirect:
		return outcomeLoginRedirect
	case ex.dec.made:
		return ex.dec.outcome()
	case ex.endpoint:
		return outcomeAllowed
	}
	return outcomeError
}

// decide is the one decision path of proxy mode and forward-auth (the two
// differ only in how they answer it): it matches q against the routes,
// establishes the identity when the route needs one (once per exchange),
// applies the route's rules and keeps the decision on ex. A WebDAV method
// is decided also as the methods whose effect it has (policy.Effects), one
// the gateway cannot describe as every effect (undescribed), a
// Destination's path too (decideDestination), and the members beneath when
// the request acts on them, as deep as it does (decideBeneath). An error is a
// request refused before a decision: a bad request, an invalid bearer
// token, an unavailable provider or session store.
func (h *Handler) decide(ex *exchange, r *http.Request, q request) error {
	if q.method == "" {
		return h.decideEveryMethod(ex, r, q)
	}
	effects := policy.Effects(q.method)
	if effects == nil && h.undescribed(q) {
		effects, q.unnamed = everyEffect, true
	}
	vs := r.Header["Destination"]
	depth := membersDepth(q, r)
	if vs != nil {
		depth = policy.Infinity
	}
	if err := h.decideAt(ex, r, q, depth); err != nil {
		return err
	}
	if effects != nil {
		if err := h.decideEffects(ex, r, q, effects, depth); err != nil {
			return err
		}
	}
	if vs != nil {
		return h.decideDestination(ex, r, q, vs)
	}
	return nil
}

// decidePath decides q's method for q's path and the paths frameworks serve
// for it (pathAliases, and with a trailing slash: decideWithSlash).
func (h *Handler) decidePath(ex *exchange, r *http.Request, q request) error {
	if err := h.decideOne(ex, r, q); err != nil {
		return err
	}
	aliases, n := pathAliases(q.path)
	for _, alias := range aliases[:n] {
		if err := h.decideAlias(ex, r, q, alias); err != nil {
			return err
		}
	}
	if h.cfg.Routes.SlashEnds() {
		return h.decideWithSlash(ex, r, q, aliases, n)
	}
	return nil
}

// pathAliases are the paths frameworks serve for path, besides itself:
// without its trailing slash (Rails, Laravel, Express and Spring serve
// "/users/42/" as "/users/42"), and then without a format suffix on its
// last segment: the last one (Rails' "(.:format)" serves "/reports.json"
// and "/reports.json/" as "/reports") or everything from the first dot
// (Spring's suffix matching serves "/reports.tar.gz" as "/reports").
//
// A suffix is whatever follows the dot, however short or spelt: Rails'
// format is any run of characters but ".", "/" and "?" ("/reports.x-y",
// "/reports.%20" are reports#index), Spring's suffix pattern "/reports.*"
// matches "/reports." too, and IIS drops a name's trailing dots. A
// segment's leading dots are its name's (".env" has no suffix), but a
// suffix may follow that name as any other's: Rails' "/.env(.:format)"
// serves "/.env.json" (a segment that starts with a dot had no alias at
// all, and "/.env.json" skipped the literal route "/.env"). An alias only
// ever adds a refusal (decideAlias), so reading too many suffixes costs a
// lookup, while reading too few let a literal route be skipped. The n
// aliases are returned in an array, so that asking costs no allocation.
func pathAliases(path string) (out [3]string, n int) {
	p := path
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	if p != path {
		out[n], n = p, n+1
	}
	seg := p[strings.LastIndexByte(p, '/')+1:]
	name := len(seg) - len(strings.TrimLeft(seg, ".")) // the leading dots
	first := strings.IndexByte(seg[name:], '.')
	if first <= 0 {
		return out, n
	}
	first += name
	last := strings.LastIndexByte(seg, '.')
	out[n], n = p[:len(p)-len(seg)+last], n+1
	if first < last {
		out[n], n = p[:len(p)-len(seg)+first], n+1
	}
	return out, n
}

// decideAlias decides q's method for alias, a path the application may
// serve for q's (pathAliases), when the route alias matches comes before
// the path's own in the file (routes match first to last), and keeps the
// more severe decision (the first on a tie): a narrower route for
// "/users/42" (a "*" or a literal), listed ahead of a broader one, is not
// skipped by adding a slash or ".json". A route listed after the path's own
// ("/docs/" public, then "/**") is one the operator ranked below it: it is
// not evaluated, and the request is not identified for it.
func (h *Handler) decideAlias(ex *exchange, r *http.Request, q request, alias string) error {
	first, label := ex.dec, ex.label
	route := h.cfg.Routes.Match(q.method, q.host.Name, alias)
	if route == nil || (first.route != nil && route.Index >= first.route.Index) {
		return nil
	}
	q.path = alias
	if err := h.decideOne(ex, r, q); err != nil {
		return err
	}
	// Only a refusal counts: a request the alias would let through too
	// keeps its own route (its upstream, its headers).
	if ex.dec.forwards() || ex.dec.severity() <= first.severity() {
		ex.dec, ex.label = first, label
	}
	return nil
}

// decideOne decides q for its one method and its path as it is.
func (h *Handler) decideOne(ex *exchange, r *http.Request, q request) error {
	return h.decideRoute(ex, r, h.cfg.Routes.Match(q.method, q.host.Name, q.path))
}

// decideRoute decides the request by route, nil for none.
func (h *Handler) decideRoute(ex *exchange, r *http.Request, route *policy.Route) error {
	ex.dec = decision{route: route, made: true}
	if route == nil {
		ex.label = "none"
		return nil
	}
	ex.label = route.Key()
	if route.Public {
		ex.dec.Outcome = portcullis.OutcomePublic
		return nil
	}
	if !ex.identified {
		ex.identified = true
		if err := h.identify(ex, r); err != nil {
			ex.dec = decision{}
			return err
		}
	}
	ex.dec.Decision = h.evaluate(ex, r, route)
	return nil
}

// decideEveryMethod decides a forward-auth request that names no method:
// the answer must hold whatever the method was, so it is the most severe
// decision over one method of every class the route table tells apart
// (never a guess of GET). Ties keep the first, in policy.Table.Methods
// order.
func (h *Handler) decideEveryMethod(ex *exchange, r *http.Request, q request) error {
	var worst decision
	methods := h.cfg.Routes.Methods()
	for i, m := range methods {
		q.method, q.unnamed = m, i == len(methods)-1
		if err := h.decide(ex, r, q); err != nil {
			return err
		}
		if i == 0 || ex.dec.severity() > worst.severity() {
			worst = ex.dec
		}
	}
	ex.dec = worst
	ex.label = "none"
	if worst.route != nil {
		ex.label = worst.route.Key()
	}
	return nil
}
