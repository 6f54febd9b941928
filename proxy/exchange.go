package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/session"
)

// exchange is the state of one request as it passes through the handler and
// the reverse proxy. It is allocated once per request.
type exchange struct {
	statusWriter
	start  time.Time
	method string // the decided request's method: the forwarded one in forward-auth
	host   Host   // the decided request's host, parsed once (policy.ParseHost)
	path   string // the decided request's normalised path
	query  string // the decided request's raw query: the forwarded one in forward-auth
	label  string // route metric label
	peer   netip.Addr

	dec decision // the decision, once made
	// refused is the error answer given, if any; loginRedirect and endpoint
	// record the other answers. exchange.outcome derives the metric label.
	refused *httpError
	// trusted: the peer is in TrustedProxies.
	trusted       bool
	loginRedirect bool
	endpoint      bool // a gateway endpoint answered
	identified    bool // identify ran
	returned      bool // serve returned: false in a panic (an aborted answer)
	// staleCookie: the request carried a session cookie that names no
	// live session (ended, expired, or not this gateway's to open).
	staleCookie bool
	// foreignCookie: that cookie does not open with session.secrets
	// (session.ErrForeignCookie).
	foreignCookie bool
	// refusedReturn is the host of a start or sign-out's rd that the
	// redirect policy refused ("-" when it names none): the line says why
	// the browser came back to "/" (returnTo).
	refusedReturn string
	// overrides are the methods a POST was decided as besides its own
	// (decideOverride: its _method's, anyMethod), which the rechecks of
	// its answer decide again (stillAllowed).
	overrides [2]string

	id     *portcullis.Identity // nil: no identity
	sess   *session.Session     // the session the identity came from, if any
	bearer string               // the presented bearer token, if any

	explain *explanation // set by Explain: a hypothetical identity, no credentials

	body *forwardBody // the pre-read body being forwarded, if any
	form formKind     // the kind of form body read before the decision (readForm), if any
	fwd  *forwarding  // what forwarding the request adds (withExchange)
	// stream is the forwarded answer's body, ended with the identity.
	stream identityStream
	// trailers is the forwarded answer's body when it can end with trailer
	// fields, filtered (guardTrailers).
	trailers trailerGuard
	// authCookie holds an allowed forward-auth answer's Cookie value
	// (setAuthCookies), so that its header needs no slice of its own.
	authCookie [1]string
	// logTail holds the last attributes of the request's log line (finish).
	logTail [5]slog.Attr
}

type exchangeKey struct{}

// forwarding is what a forwarded request adds to its exchange, in one
// allocation that forward-auth's answers, which forward nothing, do not
// make (the exchange stays in its size class): the request given to the
// reverse proxy, its context carrying the exchange, and the X-Forwarded
// values of the request sent upstream (setForwarded), so that their
// headers need no slice of their own.
type forwarding struct {
	ctx       exchangeContext
	req       http.Request
	forwarded [3]string
}

// forwardedExchange is an exchange and its forwarding in one allocation,
// made for a request that is not for a gateway endpoint (newExchange): most
// such requests are forwarded, and a separate forwarding was one more
// allocation each. The two together take the 1,408-byte size class that the
// exchange (1,024) and its forwarding (384) take apart, so a forwarded
// request costs the same bytes; a refused one (a 302, 401 or 403) 384 more.
type forwardedExchange struct {
	exchange
	fwd forwarding
}

// exchangeContext is the request's context carrying its exchange, for the
// reverse proxy's hooks.
type exchangeContext struct {
	context.Context
	ex *exchange
}

// Value returns the exchange for exchangeKey and asks the parent otherwise.
func (c *exchangeContext) Value(key any) any {
	if key == (exchangeKey{}) {
		return c.ex
	}
	return c.Context.Value(key)
}

// sentStatus is the status of the answer for logs, metrics and spans: the
// one written, 101 when none was because an upgrade hijacked the
// connection, 500 when none was because serving ended in a panic (a bug:
// net/http closes the connection without an answer).
func (ex *exchange) sentStatus() int {
	switch {
	case ex.status != 0:
		return ex.status
	case !ex.returned:
		return http.StatusInternalServerError
	}
	return http.StatusSwitchingProtocols
}

// newExchange allocates the exchange of a request, with its forwarding
// unless the path is under the gateway's prefix: gateway endpoints, and
// forward-auth's subrequests among them, forward nothing and keep the
// smaller size class. The raw path only guesses: a request whose path
// normalises elsewhere gets its forwarding from withExchange if it needs one.
func (h *Handler) newExchange(w http.ResponseWriter, r *http.Request) *exchange {
	var ex *exchange
	if strings.HasPrefix(r.URL.Path, h.prefix) {
		ex = new(exchange)
	} else {
		fe := new(forwardedExchange)
		ex = &fe.exchange
		ex.fwd = &fe.fwd
	}
	ex.ResponseWriter, ex.start, ex.label = w, h.now(), "none"
	return ex
}

// withExchange returns r carrying ex for the reverse proxy's hooks, once
// per exchange. The copy of r lives in ex.fwd with its context: WithContext's
// own copy, copied once more, stays on the stack.
func withExchange(r *http.Request, ex *exchange) *http.Request {
	f := ex.fwd
	if f == nil {
		f = &forwarding{}
	}
	f.ctx = exchangeContext{Context: r.Context(), ex: ex}
	f.req = *r.WithContext(&f.ctx)
	ex.fwd = f
	return &f.req
}

func exchangeOf(r *http.Request) *exchange {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return ex
}
