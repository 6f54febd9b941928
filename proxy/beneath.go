package proxy

import (
	"math"
	"net/http"

	"github.com/portcullis/portcullis/policy"
)

// membersDepth is how deep beneath its path q may act on the members of a
// collection there: 0 (its path alone), 1 (its direct members) or
// policy.Infinity. A WebDAV DELETE, COPY or MOVE acts on every member (RFC
// 4918 §9.6, §9.8, §9.9), a BIND, REBIND or UNBIND may add or remove a
// collection's binding (RFC 5842); a PROPFIND or REPORT of Depth 1 reads
// the properties (names, sizes, dates, dead properties) or content (a
// CalDAV calendar-data, RFC 4791 §7.8) of each direct member, and of any
// other Depth but 0 every member; none is infinity for a PROPFIND and 0
// for a REPORT (RFC 3253 §3.6). A LOCK has Depth 0 or infinity: any other
// is taken as infinity. The gateway cannot tell a collection from a file,
// so any path may be one. The stand-in for the methods no route names,
// when a forward-auth request names none, and a method the gateway cannot
// describe (undescribed) may be a COPY or MOVE whatever its Depth.
func membersDepth(q request, r *http.Request) int {
	if q.unnamed {
		return policy.Infinity
	}
	switch q.method {
	case "DELETE", "COPY", "MOVE", "BIND", "REBIND", "UNBIND":
		return policy.Infinity
	case "PROPFIND", "REPORT":
		d := r.Header["Depth"]
		if d == nil && q.method == "REPORT" {
			return 0
		}
		return depthOf(d)
	case "LOCK":
		if d := r.Header["Depth"]; len(d) == 1 && d[0] == "0" {
			return 0
		}
		return policy.Infinity
	}
	return 0
}

// depthOf reads a Depth header's values: "0" or "1", else infinity (a
// repeated or unknown one too).
func depthOf(d []string) int {
	if len(d) == 1 && d[0] == "0" {
		return 0
	}
	if len(d) == 1 && d[0] == "1" {
		return 1
	}
	return policy.Infinity
}

// decideBeneath decides q, already let through for its own path, again for
// every route that may decide a path beneath it, as deep as depth
// (policy.Table.Beneath), and
// keeps the most severe refusal: with "/public/secret/**" for admins listed
// ahead of the public "/public/**", an anonymous COPY of "/public/" copied
// the secret to where anyone reads it, and a DELETE removed it. Only routes
// ahead of q's own count when its own holds everything beneath (a "**"
// glob), and for a DELETE: a REST API's DELETE removes one resource, and
// with the routes after its own counted too, a table ending in a "/**"
// deny refused every DELETE of a route without "**", with no route that
// could allow it; listed ahead, a DELETE's own route decides it, and a
// stricter route for members listed ahead still refuses it. Otherwise
// (COPY, MOVE, a PROPFIND, REPORT or LOCK, which only WebDAV sends) any
// route may. A refused request stays refused.
func (h *Handler) decideBeneath(ex *exchange, r *http.Request, q request, depth int) error {
	own, label := ex.dec, ex.label
	if !own.forwards() {
		return nil
	}
	before := math.MaxInt
	if own.route.HoldsBeneath() || q.method == http.MethodDelete {
		before = own.route.Index
	}
	var routes []*policy.Route
	h.cfg.Routes.Beneath(q.method, q.host.Name, q.path, depth, before, func(rt *policy.Route) {
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
