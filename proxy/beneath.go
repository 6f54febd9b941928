package proxy

import (
	"math"
	"net/http"

	"github.com/portcullis/portcullis/policy"
)

// actsBeneath reports whether q may act on every member of a collection at
// its path: a WebDAV DELETE, COPY or MOVE always does (RFC 4918 §9.6, §9.8,
// §9.9), and a BIND, REBIND or UNBIND, a PROPFIND or LOCK unless its Depth
// header is 0 or 1 (none means infinity), a REPORT with a Depth but 0. The
// gateway cannot tell a collection from a file, so any path may be one. The
// stand-in for the methods no route names, when a forward-auth request
// names none, and a method the gateway cannot describe (undescribed) may
// be a COPY or MOVE whatever its Depth: it always does.
func actsBeneath(q request, r *http.Request) bool {
	if q.unnamed {
		return true
	}
	switch q.method {
	case "DELETE", "COPY", "MOVE", "BIND", "REBIND", "UNBIND":
		// A binding added or removed may be a collection's (RFC 5842).
		return true
	case "PROPFIND", "LOCK":
		d := r.Header["Depth"]
		return len(d) != 1 || (d[0] != "0" && d[0] != "1")
	case "REPORT":
		// A REPORT of depth 1 reads its members' content (a CalDAV
		// calendar-query's calendar-data, RFC 4791 §7.8); without a Depth
		// it is of depth 0 (RFC 3253 §3.6).
		d := r.Header["Depth"]
		return d != nil && (len(d) != 1 || d[0] != "0")
	}
	return false
}

// decideBeneath decides q, already let through for its own path, again for
// every route that may decide a path beneath it (policy.Table.Beneath), and
// keeps the most severe refusal: with "/public/secret/**" for admins listed
// ahead of the public "/public/**", an anonymous COPY of "/public/" copied
// the secret to where anyone reads it, and a DELETE removed it. Only routes
// ahead of q's own count when its own holds everything beneath (a "**"
// glob), and for a DELETE: a REST API's DELETE removes one resource, and
// with the routes after its own counted too, a table ending in a "/**"
// deny refused every DELETE of a route without "**", with no route that
// could allow it; listed ahead, a DELETE's own route decides it, and a
// stricter route for members listed ahead still refuses it. Otherwise
// (COPY, MOVE, a deep PROPFIND or LOCK, which only WebDAV sends) any
// route may. A refused request stays refused.
func (h *Handler) decideBeneath(ex *exchange, r *http.Request, q request) error {
	own, label := ex.dec, ex.label
	if !own.forwards() {
		return nil
	}
	before := math.MaxInt
	if own.route.HoldsBeneath() || q.method == http.MethodDelete {
		before = own.route.Index
	}
	var routes []*policy.Route
	h.cfg.Routes.Beneath(q.method, q.host.Name, q.path, before, func(rt *policy.Route) {
		if rt != own.route {
			routes = append(routes, rt)
		}
	})
	worst, worstLabel := own, label
	for _, rt := range routes {
		if err := h.decideRoute(ex, r, rt); err != nil {
			return err
		}
		if !ex.dec.forwards() && ex.dec.severity() > worst.severity() {
			worst, worstLabel = ex.dec, ex.label
		}
	}
	ex.dec, ex.label = worst, worstLabel
	return nil
}
