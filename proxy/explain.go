package proxy

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// Explanation is what the gateway decides about one request for a given
// identity (Handler.Explain).
type Explanation struct {
	// Path is the request's normalised path, as the routes see it.
	Path string
	// Route is the route whose verdict answers the request: the one its
	// path matches, or a route that an alias of the path (without its
	// trailing slash or format suffix) or the method a POST's _method
	// names matches first and that refuses more, or one that decides the
	// request as a method whose effect it has or for a member beneath its
	// path (Why). Nil when none matches.
	Route *policy.Route
	// Why says how Route came to decide a request its path's first match
	// does not name it for: the method it was decided as too (a WebDAV
	// method's effect, policy.Effects), or a member beneath the path (a
	// request that acts on a collection); "" when Route is that first match
	// or no such rule chose it.
	Why string
	// Endpoint is the gateway endpoint the path names under the prefix
	// ("/auth", "/callback"), which serve answers itself whatever the
	// routes say; "" for a path the routes decide.
	Endpoint string
	portcullis.Decision
}

// RefusedError is a request the gateway refuses before any route decides
// it (a malformed method, host, path or query): its status and reason.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// CheckRequestURL reports why raw is no URL Explain can decide, or nil.
func CheckRequestURL(raw string) error {
	_, err := parseRequestURL(raw)
	return err
}

// parseRequestURL parses an explained request's URL: an absolute http(s)
// URL as a client asks for it, its host named (not "https://:443/"). What
// no client puts in a request is refused rather than dropped or sent on,
// where it would decide another request than the one meant: a fragment,
// which clients keep to themselves (serve refuses a raw "#", so a public
// page was explained as a 400), user information (serve refuses it in a
// request line, and a client sends none), another scheme.
func parseRequestURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Opaque != "" || u.Hostname() == "":
		return nil, errors.New("the request URL must be absolute")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("the request URL must be an http(s) URL")
	case u.User != nil:
		return nil, errors.New("the request URL must not hold user information (a client sends none in a request)")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, errors.New("the request URL must not have a fragment (a client sends none in a request)")
	}
	return u, nil
}

// explanation marks an exchange that Explain runs: the hypothetical
// identity stands for the request's credentials (identify).
type explanation struct {
	id *portcullis.Identity
}

// Explain decides the request "method target" (target an absolute URL)
// for the hypothetical identity id (nil: no credentials) as ServeHTTP
// decides it in proxy mode, without answering or forwarding it: for
// `portcullis check --request`. It goes through the same entry checks and
// the same decision (decideRequest): the path's aliases and a _method in
// the query are decided too, and an access_token in the query is refused
// on every route, a public one included. The request has no body; its
// headers are header (nil: none) and its Host, so that a Destination, a
// Depth or an Overwrite is decided as serve decides it (the caller keeps
// credentials out: id stands for them). A request refused before a decision is a
// *RefusedError. A path under the prefix is the gateway's: one of its
// endpoints (Explanation.Endpoint, which no route decides), else the 404
// serve answers (a *RefusedError).
func (h *Handler) Explain(method, target string, header http.Header, id *portcullis.Identity) (Explanation, error) {
	u, err := parseRequestURL(target)
	if err != nil {
		return Explanation{}, err
	}
	r, err := http.NewRequest(method, target, http.NoBody)
	if err != nil {
		return Explanation{}, &RefusedError{Status: http.StatusBadRequest, Reason: "the request method is not a method name"}
	}
	// As a server reads a request line in origin form: the path and query
	// in the URL, the authority in Host.
	r.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	r.Host = u.Host
	if header != nil {
		r.Header = header.Clone()
	}
	ex := &exchange{statusWriter: statusWriter{ResponseWriter: unansweredWriter{}}, start: h.now(), label: "none",
		explain: &explanation{id: id}}
	defer ex.releaseBody()
	endpoint, isEndpoint, err := h.decideRequest(ex, r)
	var he *httpError
	switch {
	case errors.As(err, &he):
		return Explanation{Path: ex.path}, &RefusedError{Status: he.status, Reason: he.reason}
	case err != nil:
		return Explanation{Path: ex.path}, err
	case isEndpoint && (gatewayEndpoints[endpoint] == nil || endpoint == "/auth" && !h.exactAuthPath(r)):
		return Explanation{Path: ex.path}, &RefusedError{Status: http.StatusNotFound, Reason: noSuchEndpoint + " under server.prefix"}
	case isEndpoint:
		return Explanation{Path: ex.path, Endpoint: endpoint}, nil
	}
	q := request{method: method, host: ex.host, path: ex.path}
	return Explanation{Path: ex.path, Route: ex.dec.route, Why: h.why(q, r, ex.dec.route), Decision: ex.dec.Decision}, nil
}

// why is Explanation.Why: route, which answered q, is matched again as
// each method q is decided as (its own, then its effects), at q's path and
// then beneath it when q acts on its members, then at its Destination's
// path, the order decide takes. Only an explained request pays for it.
func (h *Handler) why(q request, r *http.Request, route *policy.Route) string {
	if route == nil || h.cfg.Routes.Match(q.method, q.host.Name, q.path) == route {
		return ""
	}
	effects := policy.Effects(q.method)
	if effects == nil && h.undescribed(q) {
		effects, q.unnamed = everyEffect, true
	}
	does := " does"
	if q.unnamed {
		does = " may do (the gateway cannot tell what it does)"
	}
	if w := h.whyAt(q, route, effects, does, membersDepth(q, r)); w != "" {
		return w
	}
	dest := r.Header["Destination"]
	if len(dest) != 1 {
		return ""
	}
	path, err := destinationPath(dest[0], q.host)
	if err != nil {
		return ""
	}
	q.path = path
	if w := h.whyAt(q, route, destinationEffects(r), " does", policy.Infinity); w != "" {
		return "at the Destination's path " + path + ": " + w
	}
	return ""
}

// whyAt is why at q's path: route matched as q's method or one of effects
// there, or for a member as deep as depth beneath it; "" if neither.
func (h *Handler) whyAt(q request, route *policy.Route, effects []string, does string, depth int) string {
	t := h.cfg.Routes
	if t.Match(q.method, q.host.Name, q.path) == route {
		return "decided as the " + q.method + " itself"
	}
	for _, m := range effects {
		if t.Match(m, q.host.Name, q.path) == route {
			return "decided as a " + m + " too, which a " + q.method + does + " to its path"
		}
	}
	if depth == 0 {
		return ""
	}
	for _, m := range append([]string{q.method}, effects...) {
		found := false
		t.Beneath(m, q.host.Name, q.path, depth, math.MaxInt, func(rt *policy.Route) { found = found || rt == route })
		if found && m == q.method {
			return "decided for a member beneath the path: a " + q.method + " acts on every member of a collection"
		}
		if found {
			return "decided for a member beneath the path as a " + m + ", which a " + q.method + does + " to every member of a collection"
		}
	}
	return ""
}

// unansweredWriter is the ResponseWriter of an explained request, which is
// never answered.
type unansweredWriter struct{}

func (unansweredWriter) Header() http.Header         { return http.Header{} }
func (unansweredWriter) Write(b []byte) (int, error) { return len(b), nil }
func (unansweredWriter) WriteHeader(int)             {}
