package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// handleAuth serves GET {prefix}/auth, the forward-auth endpoint for nginx
// auth_request, Traefik forwardAuth, Caddy forward_auth and Envoy ext_authz
// (SPEC §3). The original request is read from X-Forwarded-Method/Host/Uri
// or X-Original-URL, believed only from a trusted proxy, and decided by the
// same route table and identity rules as proxy mode: 200 with identity
// headers, 401 without identity, 403 when denied or unmatched.
func (h *Handler) handleAuth(ex *exchange, r *http.Request) {
	ex.Header().Set("Cache-Control", "no-store")
	if !ex.trusted {
		ex.outcome = "denied"
		writeJSON(ex, http.StatusForbidden, map[string]string{"error": "untrusted_proxy"})
		return
	}
	method, host, path, query, err := originalRequest(r)
	if err != nil {
		h.fail(ex, r, err)
		return
	}
	if hasAccessTokenParam(query) {
		h.fail(ex, r, badRequest("access tokens are not accepted in the query string", nil))
		return
	}
	ex.path = path
	route := h.cfg.Routes.Match(method, host, path)
	if route == nil {
		ex.label = "none"
		h.fail(ex, r, &httpError{status: http.StatusForbidden, code: "forbidden", title: "Access denied",
			reason: "no route matches this request", outcome: "no_route"})
		return
	}
	ex.route, ex.label = route, route.Key()
	if route.Public {
		ex.outcome = "public"
		ex.WriteHeader(http.StatusOK)
		return
	}
	r, err = h.identify(ex, r)
	if err != nil {
		h.fail(ex, r, err)
		return
	}
	d := route.Evaluate(ex.id)
	switch d.Outcome {
	case portcullis.OutcomeAllow:
		ex.outcome = "allowed"
		at := ""
		if ex.sess != nil {
			at = ex.sess.AccessToken
		}
		h.names.setAuthResponse(ex.Header(), h.identityValues(ex.id, at, h.audience(route, h.upstreamFor(route), host)))
		ex.WriteHeader(http.StatusOK)
	case portcullis.OutcomeUnauthenticated:
		h.fail(ex, r, unauthenticated())
	case portcullis.OutcomeInsufficientScope:
		h.fail(ex, r, insufficientScope(d.MissingScopes, d.Reason))
	default:
		h.fail(ex, r, forbidden(d.Reason))
	}
}

// originalRequest reads the method, host, normalised path and raw query of
// the request a front proxy asks about.
func originalRequest(r *http.Request) (method, host, path, query string, err error) {
	method = r.Header.Get("X-Forwarded-Method")
	if method == "" {
		method = http.MethodGet
	}
	if !upperCaseMethod(method) {
		return "", "", "", "", badRequest("the forwarded method must be upper-case", nil)
	}
	var escaped string
	if uri := r.Header.Get("X-Forwarded-Uri"); uri != "" {
		host = r.Header.Get("X-Forwarded-Host")
		u, perr := url.ParseRequestURI(uri)
		if perr != nil || u.Host != "" || u.Scheme != "" {
			return "", "", "", "", badRequest("X-Forwarded-Uri is not a request path", perr)
		}
		escaped, query = u.EscapedPath(), u.RawQuery
	} else if orig := r.Header.Get("X-Original-URL"); orig != "" {
		u, perr := url.Parse(orig)
		if perr != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "", "", "", "", badRequest("X-Original-URL is not an absolute URL", perr)
		}
		host, escaped, query = u.Host, u.EscapedPath(), u.RawQuery
	} else {
		return "", "", "", "", badRequest("the original request is not named (X-Forwarded-Uri or X-Original-URL)", nil)
	}
	if host == "" {
		host = r.Host
	}
	if escaped == "" {
		escaped = "/"
	}
	if strings.ContainsAny(host, " /\\@") {
		return "", "", "", "", badRequest("the forwarded host is not a host", nil)
	}
	if path, err = policy.Normalize(escaped); err != nil {
		return "", "", "", "", badRequest("the request path is not acceptable", err)
	}
	return method, host, path, query, nil
}
