package proxy

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// httpError is a gateway-generated answer: its status, the machine-readable
// code of the JSON body, the title and reason of the HTML page, an optional
// WWW-Authenticate challenge, Allow header and "try again" link, and the
// kind of outcome it is. reason is shown to the client: it never contains a
// token or a secret. cause is logged, never shown. Each code has one
// constructor below.
type httpError struct {
	status    int
	code      string
	title     string
	reason    string
	challenge string
	allow     string
	link      string
	kind      outcome
	// signIn is {prefix}/start for the request a forward-auth 401 refused:
	// Traefik's forwardAuth and Envoy's ext_authz hand that answer to the
	// browser as it is (the nginx and Caddy snippets turn the 401 into a
	// redirect to start themselves), so the HTML page offers to sign in
	// and, when navigate is set (a browser's navigation: GET or HEAD
	// accepting text/html, Sec-Fetch-Mode absent or navigate; its return
	// loses nothing), goes there at once. Other clients still get the 401.
	signIn   string
	navigate bool
	// confirm is the action of the "Sign out" form a refused sign-out's
	// HTML page offers: the browser's POST from the gateway's own page
	// passes the origin check, and no other site can frame the page to
	// click it, so the user signs out by a click of their own.
	confirm string
	// oauth names the JSON reason error_description (RFC 6749 §5.2 style),
	// for endpoints the provider calls.
	oauth bool
	// quiet leaves the reason out of the JSON body.
	quiet bool
	// upstream names the upstream that failed (bad_gateway) on the log
	// line: its error names only an address, or no peer at all (a
	// timeout), and under load the request line is not next to it.
	upstream string
	// jsonOnly answers JSON even to a browser: the forward-auth endpoint's
	// answer to an untrusted peer is {"error":"untrusted_proxy"} whatever
	// the request says.
	jsonOnly bool
	// retry sets Retry-After: 1 on a 503 the client should repeat soon.
	retry bool
	// retryAfter, when set, is the Retry-After (seconds) of a 429.
	retryAfter string
	cause      error
}

func (e *httpError) Error() string {
	if e.cause != nil {
		return "proxy: " + e.code + ": " + e.cause.Error()
	}
	return "proxy: " + e.code + ": " + e.reason
}

func (e *httpError) Unwrap() error { return e.cause }

func badRequest(reason string, cause error) *httpError {
	return &httpError{status: http.StatusBadRequest, code: "invalid_request", title: "Bad request",
		reason: reason, kind: outcomeBadRequest, cause: cause}
}

// requestTimeout answers a body that did not arrive in time (RFC 9110
// §15.5.9).
func requestTimeout(cause error) *httpError {
	return &httpError{status: http.StatusRequestTimeout, code: "request_timeout", title: "Request timeout",
		reason: "the request body did not arrive in time", kind: outcomeBadRequest, cause: cause}
}

// bodyTooLarge is the 413 (RFC 9110 §15.5.14) of a POST whose body is
// too long to be read whole for a _method, on a path whose routes do not
// allow every method it could name (decideOverride).
func bodyTooLarge() *httpError {
	return &httpError{status: http.StatusRequestEntityTooLarge, code: "content_too_large", title: "Request body too large",
		reason: "a form or JSON body over 64 KiB could carry a _method the gateway cannot check, and this path's routes do not allow every method",
		kind:   outcomeDenied}
}

// bodyEncoded is the 415 (RFC 9110 §15.5.16) of a POST whose form or
// JSON body is compressed, on a path whose routes do not allow every
// method: a _method in it cannot be read (decideOverride).
func bodyEncoded() *httpError {
	return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", title: "Unsupported request body",
		reason: "a compressed form or JSON body could carry a _method the gateway cannot check, and this path's routes do not allow every method",
		kind:   outcomeDenied}
}

// headersTooLarge is the 431 of the header limits (RFC 6585 §5).
func headersTooLarge() *httpError {
	return &httpError{status: http.StatusRequestHeaderFieldsTooLarge, code: "headers_too_large",
		title: "Request headers too large", reason: "the request's cookies or headers are too large",
		kind: outcomeBadRequest}
}

// methodNotAllowed is the RFC 9110 §15.5.6 answer, with the Allow header.
func methodNotAllowed(allow string) *httpError {
	return &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", title: "Method not allowed",
		reason: "this endpoint accepts " + allow, allow: allow, kind: outcomeBadRequest}
}

// unauthenticated is the RFC 6750 §3 answer to a request without credentials:
// a challenge without an error parameter.
func unauthenticated() *httpError {
	return &httpError{status: http.StatusUnauthorized, code: "unauthenticated", title: "Sign-in required",
		reason: "this request needs a signed-in user or a bearer token", challenge: "Bearer", kind: outcomeUnauthenticated}
}

// invalidToken is the RFC 6750 §3.1 answer to a bearer token that failed
// verification.
func invalidToken(cause error) *httpError {
	return &httpError{status: http.StatusUnauthorized, code: "invalid_token", title: "Invalid token",
		reason: "the bearer token is not valid", challenge: `Bearer error="invalid_token"`,
		kind: outcomeUnauthenticated, cause: cause}
}

// insufficientScope is the RFC 6750 §3.1 answer to a token lacking scopes.
func insufficientScope(missing []string, reason string) *httpError {
	if reason == "" {
		reason = "missing scope " + strings.Join(missing, " ")
	}
	return &httpError{status: http.StatusForbidden, code: "insufficient_scope", title: "Access denied",
		reason:    reason,
		challenge: `Bearer error="insufficient_scope", scope="` + quoteSafe(strings.Join(missing, " ")) + `"`,
		kind:      outcomeDenied}
}

func forbidden(reason string) *httpError {
	if reason == "" {
		reason = "access denied"
	}
	return &httpError{status: http.StatusForbidden, code: "forbidden", title: "Access denied",
		reason: reason, kind: outcomeDenied}
}

// untrustedProxy is forward-auth's answer to a peer outside trusted_proxies:
// {"error":"untrusted_proxy"}, whatever the headers say (Accept included).
func untrustedProxy() *httpError {
	return &httpError{status: http.StatusForbidden, code: "untrusted_proxy", title: "Access denied",
		reason: "this endpoint answers only the gateway's trusted proxies", kind: outcomeDenied, quiet: true, jsonOnly: true}
}

func notFound(reason string) *httpError {
	return &httpError{status: http.StatusNotFound, code: "not_found", title: "Not found",
		reason: reason, kind: outcomeNoRoute}
}

// noRoute answers a request no route matches: 404 in proxy mode, 403 from
// forward-auth (docs/requests.md).
func noRoute(status int) *httpError {
	const reason = "no route matches this request"
	if status == http.StatusNotFound {
		return notFound(reason)
	}
	e := forbidden(reason)
	e.kind = outcomeNoRoute
	return e
}

func unavailable(reason string, cause error) *httpError {
	return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", title: "Service unavailable",
		reason: reason, kind: outcomeError, cause: cause}
}

func notImplemented(reason string) *httpError {
	return &httpError{status: http.StatusNotImplemented, code: "not_implemented", title: "Not implemented",
		reason: reason, kind: outcomeError, oauth: true}
}

// logoutFailed is a back-channel logout the session store could not carry
// out in full (OIDC Back-Channel Logout 1.0 §2.8: 400, so the provider
// sends it again): its sessions may have ended while its marker for
// sign-ins under way was refused (Redis full), or not at all.
func logoutFailed(cause error) *httpError {
	return &httpError{status: http.StatusBadRequest, code: "logout_failed", title: "Logout failed",
		reason: "the logout could not be carried out in full; send it again", kind: outcomeError, oauth: true, cause: cause}
}

func badGateway(reason string, cause error) *httpError {
	return &httpError{status: http.StatusBadGateway, code: "bad_gateway", title: "Bad gateway",
		reason: reason, kind: outcomeError, cause: cause}
}

// clientClosed records a request whose client went away (nginx's 499);
// nobody reads the answer.
func clientClosed() *httpError {
	return &httpError{status: 499, code: "client_closed", title: "Client closed the request",
		reason: "the client closed the request", kind: outcomeError}
}

func internalError(cause error) *httpError {
	return &httpError{status: http.StatusInternalServerError, code: "internal_error", title: "Internal error",
		reason: "the gateway could not complete the request", kind: outcomeError, cause: cause}
}

// quoteSafe drops the characters that cannot appear in a quoted-string of a
// challenge (RFC 9110 §5.6.4) without escaping.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// classify maps an error that is not an *httpError to one: the provider not
// being ready or the session store failing is a 503; anything else a 500
// that shows no detail.
func classify(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	switch {
	case errors.Is(err, idp.ErrNotReady):
		return unavailable("the identity provider is not available yet", err)
	case errors.Is(err, idp.ErrUnavailable):
		return unavailable("the identity provider is not reachable; please retry shortly", err)
	case errors.Is(err, idp.ErrInvalidToken):
		return invalidToken(err)
	case errors.Is(err, session.ErrNoSession):
		return unauthenticated()
	}
	return internalError(err)
}

// fail writes err as the gateway's answer, as an HTML page to clients that
// accept text/html and as JSON otherwise. It is the one place where errors
// become statuses. Gateway-generated answers are never cached.
func (h *Handler) fail(ex *exchange, r *http.Request, err error) {
	e := classify(err)
	ex.refused = e
	if e.cause != nil {
		level := slog.LevelInfo
		if e.status >= 500 {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{slog.String("code", e.code), slog.Int("status", e.status),
			logattr.Err(e.cause)}
		if e.upstream != "" {
			attrs = append(attrs, slog.String("upstream", e.upstream))
		}
		h.log.LogAttrs(r.Context(), level, "proxy: request refused", attrs...)
	}
	refusalHeader(ex.Header(), e, err)
	if acceptsHTML(r) && !e.jsonOnly {
		h.writePage(ex, r, e)
		return
	}
	body := struct {
		Error       string `json:"error"`
		Reason      string `json:"reason,omitempty"`
		Description string `json:"error_description,omitempty"`
	}{Error: e.code}
	switch {
	case e.quiet:
	case e.oauth:
		body.Description = e.reason
	default:
		body.Reason = e.reason
	}
	writeJSON(ex, e.status, body)
}

// refusalHeader sets the header fields of e's answer (err, classified).
func refusalHeader(hdr http.Header, e *httpError, err error) {
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if e.challenge != "" {
		hdr.Set("WWW-Authenticate", e.challenge)
	}
	if e.allow != "" {
		hdr.Set("Allow", e.allow)
	}
	switch {
	case e.retryAfter != "": // a wait of the client's own making (a 429)
		hdr.Set("Retry-After", e.retryAfter)
	case e.retry || errors.Is(err, idp.ErrBusy): // provider calls capped: retry (RFC 9110 §10.2.3)
		hdr.Set("Retry-After", "1")
	}
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff") // never read as HTML, whatever it echoes
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
