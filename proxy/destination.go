package proxy

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/policy"
)

// decideDestination decides q again for the path its request's Destination
// header names (RFC 4918 §10.3), when it has one, and keeps the refusal if
// that path is refused: a WebDAV server (Apache mod_dav, nginx's dav
// module, Nextcloud, Go's x/net/webdav) performs a COPY or MOVE on the
// Destination path as much as on the request's own, so a MOVE of
// "/public/x" with "Destination: /admin/x" wrote under /admin, decided as
// "/public/x" alone. Every method is decided so, not only COPY and MOVE: the
// gateway does not know which methods an application reads it for. It is
// decided there as a PUT and, unless Overwrite: F, a DELETE as well
// (destinationEffects): a route guarding those methods guards it. The
// header is forwarded as sent, and must name the request's host; a spelling
// the path rules refuse, or a ".." or "//" an application may resolve
// otherwise (the rules of forward-auth's original path), is a 400, as is a
// Destination routed to another upstream. Only a request with the header
// pays for this.
func (h *Handler) decideDestination(ex *exchange, r *http.Request, q request, vs []string) error {
	if len(vs) != 1 {
		return badRequest("Destination is repeated", nil)
	}
	path, err := destinationPath(vs[0], q.host)
	if err != nil {
		return err
	}
	own, label := ex.dec, ex.label
	if !own.forwards() {
		return nil // refused already: the Destination cannot undo that
	}
	q.path = path
	if err := h.decideAt(ex, r, q, policy.Infinity); err != nil {
		return err
	}
	if err := h.decideEffects(ex, r, q, destinationEffects(r), policy.Infinity); err != nil {
		return err
	}
	if !ex.dec.forwards() {
		return nil // the Destination's refusal (or a member's beneath) is the answer
	}
	if h.upstreamFor(ex.dec.route) != h.upstreamFor(own.route) {
		ex.dec = decision{}
		return badRequest("the Destination header names a path routed to another upstream", nil)
	}
	// Both let through: the request keeps its own route (its identity
	// headers, its audience), as a path alias does.
	ex.dec, ex.label = own, label
	return nil
}

// destinationPath is the normalised path a Destination header value names:
// an absolute http(s) URL on host, or an absolute path.
func destinationPath(v string, host Host) (string, error) {
	u, err := url.Parse(v)
	// Any "#": url.Parse drops an empty fragment ("/admin/x#") without a
	// trace, and the WebDAV server reads the header itself.
	if err != nil || u.User != nil || u.Opaque != "" || strings.Contains(v, "#") || strings.HasPrefix(v, "//") {
		return "", badRequest("the Destination header is not an absolute URL or path", urlCause(err))
	}
	switch {
	case u.Scheme == "" && u.Host == "":
		if !strings.HasPrefix(v, "/") {
			return "", badRequest("the Destination header is not an absolute URL or path", nil)
		}
	case u.Scheme == "http" || u.Scheme == "https":
		dh, err := policy.ParseHost(u.Host)
		if err != nil || dh.Name != host.Name {
			return "", badRequest("the Destination header names another host", err)
		}
	default:
		return "", badRequest("the Destination header is not an absolute URL or path", nil)
	}
	t, err := normalTarget(host, policy.RequestPath(u), u.RawQuery)
	if e, ok := err.(*httpError); ok {
		return "", destinationError(e)
	}
	return t.path, err
}

// destinationError is a refusal of the Destination's path or query that
// says so: the path rules speak of "the request path", which here is fine,
// and a client told so looks for the fault in the wrong place.
func destinationError(e *httpError) *httpError {
	named := *e
	named.reason = "the Destination header: " + strings.Replace(e.reason, "the request path", "its path", 1)
	return &named
}
