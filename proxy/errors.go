package proxy

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// httpError is a gateway-generated answer: its status, the machine-readable
// code of the JSON body, the title and reason of the HTML page, an optional
// WWW-Authenticate challenge and "try again" link, and the metric outcome.
// reason is shown to the client: it never contains a token or a secret.
// cause is logged, never shown.
type httpError struct {
	status    int
	code      string
	title     string
	reason    string
	challenge string
	link      string
	outcome   string
	cause     error
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
		reason: reason, outcome: "bad_request", cause: cause}
}

// unauthenticated is the RFC 6750 §3 answer to a request without credentials:
// a challenge without an error parameter.
func unauthenticated() *httpError {
	return &httpError{status: http.StatusUnauthorized, code: "unauthenticated", title: "Sign-in required",
		reason: "this request needs a signed-in user or a bearer token", challenge: "Bearer", outcome: "unauthenticated"}
}

// invalidToken is the RFC 6750 §3.1 answer to a bearer token that failed
// verification.
func invalidToken(cause error) *httpError {
	return &httpError{status: http.StatusUnauthorized, code: "invalid_token", title: "Invalid token",
		reason: "the bearer token is not valid", challenge: `Bearer error="invalid_token"`,
		outcome: "unauthenticated", cause: cause}
}

// insufficientScope is the RFC 6750 §3.1 answer to a token lacking scopes.
func insufficientScope(missing []string, reason string) *httpError {
	if reason == "" {
		reason = "missing scope " + strings.Join(missing, " ")
	}
	return &httpError{status: http.StatusForbidden, code: "insufficient_scope", title: "Access denied",
		reason:    reason,
		challenge: `Bearer error="insufficient_scope", scope="` + quoteSafe(strings.Join(missing, " ")) + `"`,
		outcome:   "denied"}
}

func forbidden(reason string) *httpError {
	if reason == "" {
		reason = "access denied"
	}
	return &httpError{status: http.StatusForbidden, code: "forbidden", title: "Access denied",
		reason: reason, outcome: "denied"}
}

func unavailable(reason string, cause error) *httpError {
	return &httpError{status: http.StatusServiceUnavailable, code: "unavailable", title: "Service unavailable",
		reason: reason, outcome: "error", cause: cause}
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
	return &httpError{status: http.StatusInternalServerError, code: "internal_error", title: "Internal error",
		reason: "the gateway could not complete the request", outcome: "error", cause: err}
}

// fail writes err as the gateway's answer, as an HTML page to clients that
// accept text/html and as JSON otherwise. It is the one place where errors
// become statuses. Gateway-generated answers are never cached.
func (h *Handler) fail(ex *exchange, r *http.Request, err error) {
	e := classify(err)
	ex.outcome = e.outcome
	if e.cause != nil {
		level := slog.LevelInfo
		if e.status >= 500 {
			level = slog.LevelWarn
		}
		h.log.LogAttrs(r.Context(), level, "proxy: request refused", slog.String("code", e.code),
			slog.Int("status", e.status), slog.String("err", e.cause.Error()))
	}
	hdr := ex.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if e.challenge != "" {
		hdr.Set("WWW-Authenticate", e.challenge)
	}
	if acceptsHTML(r) {
		h.writePage(ex, r, e)
		return
	}
	body := struct {
		Error  string `json:"error"`
		Reason string `json:"reason,omitempty"`
	}{e.code, e.reason}
	if e.code == "untrusted_proxy" {
		body.Reason = ""
	}
	writeJSON(ex, e.status, body)
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
