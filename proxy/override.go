package proxy

import (
	"errors"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// overrideParam is the form and query parameter by which Rails (Rack's
// MethodOverride), Laravel, Symfony, Spring's HiddenHttpMethodFilter and
// Express's method-override turn a POST into another method: a browser
// form can only send GET and POST, so `<input type="hidden" name="_method"
// value="delete">` makes the application perform a DELETE. The gateway
// forwards the POST as it is (removing the parameter would break those
// forms) and decides it as both methods (decideOverride).
const overrideParam = "_method"

// overrideField is the form field and query parameter by which ASP.NET MVC
// (GetHttpMethodOverride, which [HttpDelete] and the other verb attributes
// match) turns a POST into another method when no header of that name
// does: the gateway removes the header, but a POST /items/1 with
// ?X-HTTP-Method-Override=DELETE was decided as a POST alone and its
// DELETE performed. It is decided as _method is.
const overrideField = "x-http-method-override"

// anyMethod is the override of a POST whose body could not be read whole
// (unreadBody): a _method in it could name any method.
const anyMethod = "*"

// errEveryMethod is decideOverride's refusal of anyMethod when not every
// method is allowed; decideBody answers it with unreadBody's error.
var errEveryMethod = &httpError{status: http.StatusForbidden, code: "forbidden", kind: outcomeDenied}

// unreadBody returns the answer to a POST form or JSON body that could not
// be read whole, should the path's routes not allow every method: 413 for
// one longer than what was read, 415 for a compressed one (Express's body
// parsers inflate it); nil for a body read whole.
func unreadBody(ex *exchange, r *http.Request) *httpError {
	switch {
	case ex.form == 0:
		return nil
	case ex.formCut():
		return bodyTooLarge()
	}
	if encoded(r.Header) {
		return bodyEncoded()
	}
	return nil
}

// encoded reports whether any Content-Encoding line names a coding other
// than identity: the first alone let "identity" then "gzip" through as a
// plain body, which an application that reads the last line, or all of
// them, inflates.
func encoded(hdr http.Header) bool {
	for _, v := range hdr.Values("Content-Encoding") {
		if ce := strings.TrimSpace(v); ce != "" && !strings.EqualFold(ce, "identity") {
			return true
		}
	}
	return false
}

// decideBody completes the decision of a request, in proxy mode. For a
// POST it forwards, it reads a form or JSON body (readForm) and decides the
// POST again as the method its _method parameters name (decideOverride),
// and as every method when the body is longer than what was read (a 413
// unless the path's routes allow them all). Then, and for other requests,
// it refuses an access_token in the form, multipart or JSON body of a
// request it forwards that needed an identity, whatever its method
// (formToken): a POST's is read anyway. A refused request's URL-encoded
// body is read for that check alone (its 400 says more than the refusal);
// it forwards nothing, so another body is not waited for.
func (h *Handler) decideBody(ex *exchange, r *http.Request, q request) error {
	if !ex.dec.forwards() {
		if ex.dec.Outcome == portcullis.OutcomeUnauthenticated {
			return h.formToken(ex, r, urlencodedForm)
		}
		return nil
	}
	if r.Method != http.MethodPost {
		return h.formToken(ex, r, anyForm) // only POST can be overridden
	}
	kind, boundary, err := h.readForm(ex, r)
	if err != nil {
		return err
	}
	other, err := methodOverride(r.URL.RawQuery, kind, boundary, ex.formData(), ex.formCut())
	if err != nil {
		return err
	}
	if other != "" {
		if err := h.decideOverride(ex, r, q, other); err != nil || !ex.dec.forwards() {
			return err
		}
	}
	if unread := unreadBody(ex, r); unread != nil {
		if err := h.decideOverride(ex, r, q, anyMethod); err != nil || !ex.dec.forwards() {
			if err == errEveryMethod {
				return unread
			}
			return err
		}
	}
	if ex.identified {
		return formTokenIn(ex, r)
	}
	return nil
}

// formToken refuses an access_token in a body of the given kinds of a
// request that needs an identity (RFC 6750 §2.2 is not accepted,
// docs/requests.md): a 400 that says so, also when there is no identity
// (rather than a 401). Such a body is read within the body pre-read time
// whatever the method: Rack parses a form or multipart body of a PUT,
// PATCH or DELETE into params as a POST's, and Rails a JSON body too,
// where Doorkeeper takes a token from. No other body is read.
func (h *Handler) formToken(ex *exchange, r *http.Request, kinds formKind) error {
	if !ex.identified {
		return nil
	}
	// A body in UTF-16 (errNotASCII) is refused here too: read as
	// nothing, the access_token Express decoded from it passed.
	if kind, _, err := formOf(r); kind&kinds == 0 && !errors.Is(err, errNotASCII) {
		return nil
	}
	if _, _, err := h.readForm(ex, r); err != nil {
		return err
	}
	return formTokenIn(ex, r)
}

// formTokenIn refuses an access_token in the body readForm read from r, of
// any kind it read it as (bodyHasAccessToken). A multipart body's boundary
// is read again from r's Content-Type (readForm checked it): kept in the
// exchange, it would push every exchange past its allocation size class.
func formTokenIn(ex *exchange, r *http.Request) error {
	if ex.form == 0 {
		return nil
	}
	var boundary string
	if ex.form&multipartForm != 0 {
		boundary, _ = multipartBoundary(r.Header.Get("Content-Type"))
	}
	if bodyHasAccessToken(ex.form, ex.formData(), boundary) {
		return badRequest("access tokens are not accepted in the request body", nil)
	}
	return nil
}

// methodOverride returns the method a POST asks the application to perform
// in its _method parameters (query string, and a body of the given kinds,
// cut when more of it followed),
// upper-cased as the frameworks do, or "" when there is none or it names
// POST. Parameters that name different methods, or a value that is not a
// method name, are a 400; CONNECT, TRACE and TRACK a 405.
func methodOverride(rawQuery string, kind formKind, boundary string, body []byte, cut bool) (string, error) {
	var names []string
	add := func(v string) { names = append(names, strings.ToUpper(strings.TrimSpace(v))) }
	eachParam(rawQuery, add)
	if kind&urlencodedForm != 0 {
		eachParam(view(bodyText(body)), add)
	}
	if kind&multipartForm != 0 {
		if err := eachPart(body, boundary, cut, add); err != nil {
			return "", badRequest(err.Error(), nil)
		}
	}
	if kind&jsonForm != 0 {
		eachField(bodyText(body), add)
	}
	if len(names) == 0 {
		return "", nil
	}
	m := names[0]
	for _, n := range names[1:] {
		if n != m {
			return "", badRequest("the _method parameters name different methods", nil)
		}
	}
	if !policy.ValidMethod(m) {
		return "", badRequest("the _method parameter does not name a method", nil)
	}
	if e := checkMethod(m); e != nil {
		return "", e
	}
	if m == http.MethodPost {
		return "", nil
	}
	return m, nil
}

// decideOverride decides again, as the method other names, a POST that is
// forwarded and asks the application to perform other (methodOverride);
// anyMethod decides it for every method (decideEveryMethod). The
// application performs that method, so the request must be allowed as
// both: the more severe verdict answers (ties keep the POST's). When both
// would be forwarded, a named method's route must forward to the same
// upstream, or the request is a 400 rather than sent where its other
// route does not go; with anyMethod, every method's route must
// (everyMethodTo), or the POST is refused as when not every method is
// allowed.
func (h *Handler) decideOverride(ex *exchange, r *http.Request, q request, other string) error {
	post := ex.dec
	q.method = other
	if other == anyMethod {
		q.method = ""
	}
	if err := h.decide(ex, r, q); err != nil {
		return err
	}
	if other != anyMethod && ex.dec.forwards() && h.upstreamFor(post.route) != h.upstreamFor(ex.dec.route) {
		ex.dec = decision{}
		return badRequest("the _method parameter names a method routed to another upstream", nil)
	}
	if other == anyMethod && (!h.everyMethodTo(q, h.upstreamFor(post.route)) ||
		!ex.dec.forwards() && ex.dec.Outcome != portcullis.OutcomeUnauthenticated) {
		ex.dec = decision{}
		return errEveryMethod
	}
	if ex.dec.severity() <= post.severity() {
		ex.dec = post
	}
	ex.label = "none"
	if ex.dec.route != nil {
		ex.label = ex.dec.route.Key()
	}
	ex.overridden(other)
	return nil
}

// everyMethodTo reports whether every route of q's host and path that
// would forward some method (any but a deny) forwards it to up. A POST
// decided as every method (anyMethod) is forwarded by one of them, the
// most severe verdict's, which may not be its own route's: when they name
// different upstreams, the body's unread _method could name a method
// routed elsewhere (a 400 when it can be read), and the POST would reach
// an upstream that no route sends it to. Only a POST whose body could not
// be read whole asks, never the hot path.
func (h *Handler) everyMethodTo(q request, up *upstream) bool {
	for _, m := range h.cfg.Routes.Methods() {
		route := h.cfg.Routes.Match(m, q.host.Name, q.path)
		if route != nil && !route.Deny && h.upstreamFor(route) != up {
			return false
		}
	}
	return true
}

// overridden records other among the methods ex's POST was decided as.
func (ex *exchange) overridden(other string) {
	for i, m := range ex.overrides {
		if m == "" || m == other {
			ex.overrides[i] = other
			return
		}
	}
}

// forwards reports whether the decision lets the request through.
func (d *decision) forwards() bool {
	return d.made && d.route != nil && (d.Outcome == portcullis.OutcomeAllow || d.Outcome == portcullis.OutcomePublic)
}
