package proxy

import (
	"net/http"

	"github.com/portcullis/portcullis/policy"
)

// The methods whose effect a request with a Destination has on that path,
// as package variables so that asking allocates nothing.
var (
	writeEffect      = []string{http.MethodPut}
	writeDestination = []string{http.MethodPut, http.MethodDelete}
	everyEffect      = []string{http.MethodGet, http.MethodPut, http.MethodDelete}
)

// undescribed reports whether q's method is one the gateway cannot tell the
// effect of (policy.Described) and the route that matches it takes only
// because that route lists no methods: a SabreDAV or mod_dav plugin's
// method, an application's own, may read, write or delete, and "/**" for
// everyone signed in let such a request write under a path whose PUT is
// for admins. decide then decides it as a GET, a PUT and a DELETE, of
// the members beneath too. A route that names the method decides it
// alone: its author thought of it. Only such a method pays for the Match.
func (h *Handler) undescribed(q request) bool {
	if policy.Described(q.method) {
		return false
	}
	route := h.cfg.Routes.Match(q.method, q.host.Name, q.path)
	return route != nil && !route.Names(q.method)
}

// destinationEffects are the methods whose effect a request with a
// Destination has on that path: it writes it (PUT) and, unless its
// Overwrite header is exactly "F" (RFC 4918 §10.6: "T" is the default),
// first deletes what is there (DELETE).
func destinationEffects(r *http.Request) []string {
	if o := r.Header["Overwrite"]; len(o) == 1 && o[0] == "F" {
		return writeEffect
	}
	return writeDestination
}

// decideAt decides q at its path (and its aliases), and, when let through
// and depth is not 0, by the routes of the members beneath it as deep as
// depth (decideBeneath), then at the path's composed form when it has one
// (decideComposed).
func (h *Handler) decideAt(ex *exchange, r *http.Request, q request, depth int) error {
	if err := h.decidePath(ex, r, q); err != nil {
		return err
	}
	if depth > 0 {
		if err := h.decideBeneath(ex, r, q, depth); err != nil {
			return err
		}
	}
	return h.decideComposed(ex, r, q, depth)
}

// decideEffects decides q, let through for its own method, again as each
// of effects at its path (decideAt) and keeps the most severe refusal
// (the first on a tie). When every one lets it through, the request keeps
// its own route (its upstream, its identity headers), as a path alias
// does: only a refusal counts.
func (h *Handler) decideEffects(ex *exchange, r *http.Request, q request, effects []string, depth int) error {
	own, label := ex.dec, ex.label
	if !own.forwards() {
		return nil
	}
	worst, worstLabel := own, label
	for _, m := range effects {
		q.method = m
		if err := h.decideAt(ex, r, q, depth); err != nil {
			return err
		}
		if !ex.dec.forwards() && ex.dec.severity() > worst.severity() {
			worst, worstLabel = ex.dec, ex.label
		}
	}
	ex.dec, ex.label = worst, worstLabel
	return nil
}
