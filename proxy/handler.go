package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/session"
)

// Defaults of Config fields left zero.
const (
	defaultPrefix   = "/oauth2"
	defaultLifetime = 12 * time.Hour
	// stepUpWindow is how long after an incremental-authorization attempt
	// for a route the same session is not sent to the provider again for it.
	stepUpWindow = 5 * time.Minute
)

// stateJar is what the handler needs from *session.StateCookies.
type stateJar interface {
	Issue(w http.ResponseWriter, r *http.Request, ls *session.LoginState) error
	Take(w http.ResponseWriter, r *http.Request, state string) (*session.LoginState, error)
	Owns(cookieName string) bool
}

// Handler is the gateway's http.Handler. It is safe for concurrent use.
type Handler struct {
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
	prefix    string
	redirects *redirectPolicy
	origin    string // public_url's origin, for the sign-out Origin check
	public    Host   // public_url's host as ParseHost reads a request's; zero when it does not parse
	pageCSP   string // Content-Security-Policy of the HTML pages
	issuer    string // public_url, the assertions' iss
	states    stateJar
	upstreams map[string]*upstream
	single    *upstream     // the only upstream, when there is exactly one
	bodies    *bodyPool     // the upstreams' pre-read buffers, also for forms read before the decision (readForm)
	sendIdle  time.Duration // sendIdleTimeout (tests shorten it)
	scrub     headerSet     // inbound headers always removed
	names     headerNames
	signer    *signer
	idCache   *valueCache
	metrics   *metrics
	tracing   *tracing // nil = no tracing
	refresher refresher
	login     Login               // cfg.Provider, for sign-in
	logout    Logout              // cfg.Provider, for sign-out and back-channel logout
	verifier  Verifier            // cfg.Provider, for bearer tokens and refresh
	revoker   session.Revoker     // cfg.Sessions when it can revoke; nil = back-channel logout answers 501
	replay    session.ReplayGuard // cfg.Sessions when replicas share it; nil = states are single-use per process
	exchanges chan struct{}       // one per code exchange in flight (maxLoginExchanges)
}

// New checks cfg and builds a Handler: one reverse proxy per upstream, the
// header sets, the assertion signer and the metrics.
func New(cfg Config) (*Handler, error) {
	if cfg.PublicURL == nil || cfg.PublicURL.Host == "" ||
		(cfg.PublicURL.Scheme != "http" && cfg.PublicURL.Scheme != "https") {
		return nil, fmt.Errorf("proxy: public URL must be an absolute http(s) URL, got %v", cfg.PublicURL)
	}
	if cfg.Routes == nil || cfg.Provider == nil || cfg.Sessions == nil || cfg.LoginStates == nil {
		return nil, errors.New("proxy: Routes, Provider, Sessions and LoginStates are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") || strings.Contains(cfg.Prefix, "//") {
		return nil, fmt.Errorf("proxy: prefix must start and not end with \"/\", got %q", cfg.Prefix)
	}
	if err := cfg.Branding.check(); err != nil {
		return nil, err
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = defaultLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		cfg:      cfg,
		now:      cfg.Now,
		log:      cfg.Logger,
		prefix:   cfg.Prefix,
		pageCSP:  pageCSP(cfg.Branding),
		origin:   cfg.PublicURL.Scheme + "://" + strings.ToLower(cfg.PublicURL.Host),
		issuer:   strings.TrimSuffix(cfg.PublicURL.String(), "/"),
		states:   cfg.LoginStates,
		scrub:    newScrubSet(cfg.Headers),
		names:    newHeaderNames(cfg.Headers),
		idCache:  newValueCache(valueCacheSize),
		tracing:  newTracing(cfg.Tracer, cfg.Routes),
		login:    cfg.Provider,
		logout:   cfg.Provider,
		verifier: cfg.Provider,

		exchanges: make(chan struct{}, maxLoginExchanges),
	}
	h.revoker, _ = cfg.Sessions.(session.Revoker)
	h.replay, _ = cfg.Sessions.(session.ReplayGuard)
	h.public, _ = ParseHost(cfg.PublicURL.Host)
	var err error
	if h.redirects, err = newRedirectPolicy(cfg.PublicURL, cfg.AllowedRedirectHosts); err != nil {
		return nil, err
	}
	if h.metrics, err = newMetrics(cfg.Metrics); err != nil {
		return nil, err
	}
	if h.signer, err = newSigner(cfg.AssertionKey, cfg.AssertionPublishedKeys, cfg.RetiredAssertionKey, cfg.RetiredAssertionKeyUntil); err != nil {
		return nil, err
	}
	if err = h.buildUpstreams(); err != nil {
		return nil, err
	}
	return h, nil
}

// JWKS returns the JSON Web Key Set that verifies the assertion header.
func (h *Handler) JWKS() []byte { return h.signer.keySet(h.now()) }

// exchange is the state of one request as it passes through the handler and
// the reverse proxy. It is allocated once per request.
type exchange struct {
	statusWriter
	start  time.Time
	method string // the decided request's method: the forwarded one in forward-auth
	host   Host   // the decided request's host, parsed once (ParseHost)
	path   string // the decided request's normalised path
	query  string // the decided request's raw query: the forwarded one in forward-auth
	label  string // route metric label
	peer   netip.Addr
	// trusted: the peer is in TrustedProxies.
	trusted bool

	dec decision // the decision, once made
	// refused is the error answer given, if any; loginRedirect and endpoint
	// record the other answers. exchange.outcome derives the metric label.
	refused       *httpError
	loginRedirect bool
	endpoint      bool // a gateway endpoint answered
	identified    bool // identify ran
	returned      bool // serve returned: false in a panic (an aborted answer)
	// overrides are the methods a POST was decided as besides its own
	// (decideOverride: its _method's, anyMethod), which the rechecks of
	// its answer decide again (stillAllowed).
	overrides [2]string

	id     *portcullis.Identity // nil: no identity
	sess   *session.Session     // the session the identity came from, if any
	bearer string               // the presented bearer token, if any

	explain *explanation // set by Explain: a hypothetical identity, no credentials

	body *forwardBody    // the pre-read body being forwarded, if any
	form formKind        // the kind of form body read before the decision (readForm), if any
	ctx  exchangeContext // the context of the request given to the reverse proxy
	// stream is the forwarded answer's body, ended with the identity.
	stream identityStream
	// trailers is the forwarded answer's body when it can end with trailer
	// fields, filtered (guardTrailers).
	trailers trailerGuard
	// logTail holds the last attributes of the request's log line (finish).
	logTail [5]slog.Attr
}

type exchangeKey struct{}

// exchangeContext is the request's context carrying its exchange, for the
// reverse proxy's hooks. It lives inside the exchange, so attaching the
// exchange costs no allocation beyond Request.WithContext's copy.
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

// ServeHTTP runs one request through the decision flow described in
// docs/architecture.md ("A request's way"): limits, path normalisation, gateway endpoints or route
// match, identity, decision, and forwarding or an error answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := &exchange{statusWriter: statusWriter{ResponseWriter: w}, start: h.now(), label: "none"}
	ex.peer = peerAddr(r.RemoteAddr)
	ex.trusted = h.isTrusted(ex.peer)
	boundBodyWait(w, r, h.bodies.timeout)
	closeAfterFraming(w, r)
	// Deferred: a client that hangs up while a forwarded answer streams
	// makes the reverse proxy end the handler with http.ErrAbortHandler,
	// which net/http swallows; the request's log line and metrics are still
	// written, else hanging up before the last byte left no trace.
	defer h.finish(ex, r)
	if h.tracing != nil {
		h.serveTraced(ex, r)
		ex.endOwn(h.sendIdle)
		return
	}
	h.serve(ex, r)
	ex.endOwn(h.sendIdle)
	ex.returned = true
}

// closeAfterFraming closes the connection after the answer to an HTTP/1.x
// request whose body a proxy in front of the gateway may have framed
// otherwise: a chunked one, from which Go drops a Content-Length sent with
// it (RFC 9112 §6.3), and an HTTP/1.0 one, whose Transfer-Encoding Go drops
// and ignores (§6.1). Neither can be seen by a handler, and the RFC wants
// the connection closed for both: else what a proxy that read the other
// length sent as the rest of the body (or as its own next request) was read
// here as the next request on that connection, the classic request
// smuggling, with another client's request appended to the attacker's.
// Keeping connections is left to the usual requests (bodyless, or with a
// Content-Length alone); a request that closes its connection anyway
// (r.Close: an HTTP/1.0 one without keep-alive, nginx's forward-auth
// subrequest) gets no header.
func closeAfterFraming(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && !r.Close && (r.ProtoMinor == 0 || len(r.TransferEncoding) > 0) {
		w.Header().Set("Connection", "close")
	}
}

func (h *Handler) serve(ex *exchange, r *http.Request) {
	defer ex.releaseBody()
	endpoint, isEndpoint, err := h.decideRequest(ex, r)
	switch {
	case err != nil:
		h.fail(ex, r, err)
	case isEndpoint:
		ex.label = "gateway"
		h.serveGateway(ex, r, endpoint)
	default:
		h.answer(ex, r)
	}
}

// decideRequest takes a request through the entry checks and, unless its
// path names a gateway endpoint (returned, to be served instead), the
// decision, keeping it on ex: steps 2 to 4 of docs/architecture.md. An
// error is the refusal to answer. It is the one path from a request to a
// decision in proxy mode, for ServeHTTP and for Explain alike, so that
// `portcullis check --request` explains what serve decides.
func (h *Handler) decideRequest(ex *exchange, r *http.Request) (endpoint string, isEndpoint bool, err error) {
	ex.method = r.Method
	if !upperCaseMethod(r.Method) {
		return "", false, badRequest("the request method must be upper-case", nil)
	}
	if err := h.checkHeaders(ex, r); err != nil {
		return "", false, err
	}
	host, err := requestHost(r, ex.trusted)
	if err != nil {
		return "", false, err
	}
	ex.host = host
	if ex.trusted {
		if _, err := forwardedProto(r); err != nil {
			return "", false, err
		}
	}
	path, err := policy.NormalizeURL(r.URL)
	if err != nil {
		return "", false, badRequest("the request path is not acceptable", err)
	}
	ex.path, ex.query = path, r.URL.RawQuery
	if endpoint, ok := h.gatewayEndpoint(path); ok {
		return endpoint, true, nil
	}
	if hasAccessTokenParam(r.URL.RawQuery) {
		// Refused whatever the route, as forward-auth refuses it for the
		// original request (handleAuth): a public route must not forward
		// in one mode what the other refuses (identify checks it too, for
		// the gateway endpoints that read credentials).
		return "", false, badRequest("access tokens are not accepted in the query string", nil)
	}
	dropConnectionOptions(r.Header)
	q := request{method: r.Method, host: host, path: path}
	if err = h.decide(ex, r, q); err != nil {
		return "", false, err
	}
	return "", false, h.decideBody(ex, r, q)
}

// answer answers a decided request in proxy mode per the outcomes table of
// docs/requests.md: forwarded, a login, or an error answer.
func (h *Handler) answer(ex *exchange, r *http.Request) {
	d := &ex.dec
	switch d.Outcome {
	case portcullis.OutcomeAllow, portcullis.OutcomePublic:
		up := h.upstreamFor(d.route)
		if up == nil {
			h.fail(ex, r, badGateway("the route names no known upstream", nil))
			return
		}
		h.forward(ex, r, up)
	case portcullis.OutcomeUnauthenticated:
		if browserNavigation(r) {
			h.loginFor(ex, r)
			return
		}
		h.fail(ex, r, d.refusal(http.StatusNotFound))
	case portcullis.OutcomeInsufficientScope:
		if browserNavigation(r) && ex.sess != nil && ex.bearer == "" {
			h.stepUp(ex, r)
			return
		}
		h.fail(ex, r, d.refusal(http.StatusNotFound))
	default:
		h.fail(ex, r, d.refusal(http.StatusNotFound))
	}
}

// stepUp sends a browser session that lacks a route's scopes back to the
// provider asking for the granted plus the missing scopes (incremental
// authorization), at most once per route per session within stepUpWindow.
func (h *Handler) stepUp(ex *exchange, r *http.Request) {
	if speculative(r.Header) {
		// Recorded, a prefetch's try left the user's click the 403 page.
		h.fail(ex, r, forbidden(speculativeLogin))
		return
	}
	d := &ex.dec
	key := d.route.Key()
	now := h.now()
	if at, ok := ex.sess.StepUps[key]; ok && now.Sub(at) < stepUpWindow {
		h.fail(ex, r, d.refusal(http.StatusNotFound))
		return
	}
	if !h.onPublicHost(ex) {
		// Its login-state cookie, host-only, would not reach public_url's
		// callback: the 403 names the missing scopes instead.
		h.fail(ex, r, d.refusal(http.StatusNotFound))
		return
	}
	scopes := unionScopes(ex.sess.Identity.Scopes, d.MissingScopes)
	if err := h.recordStepUp(ex, r, key, now); err != nil {
		h.log.Warn("proxy: recording a step-up attempt failed", "route", key, "err", err)
	}
	h.startLogin(ex, r, h.returnURL(ex), scopes, key)
}

// errSessionBusy is recordStepUp's answer when another request holds the
// session's lock (a refresh): the attempt is not recorded this time.
var errSessionBusy = errors.New("the session is being saved by another request")

// recordStepUp records a step-up attempt for route key on the request's
// session. It is recorded on the full session (the store's copy,
// session.Session.Elided, has no tokens to save). A Redis session is
// changed under the session's lock, as stored now, like a refresh and a
// directory read of groups: saved from the copy read before, it wrote the
// tokens of that copy back over a refresh another replica made meanwhile,
// a refresh token the provider had rotated away (the session then ended at
// its next refresh) and the identity from before the refresh.
func (h *Handler) recordStepUp(ex *exchange, r *http.Request, key string, now time.Time) error {
	mark := func(cur *session.Session) *session.Session {
		s := cur.Clone()
		if s.StepUps == nil {
			s.StepUps = make(map[string]time.Time, 1)
		}
		s.StepUps[key] = now
		return s
	}
	full, err := h.cfg.Sessions.Full(r, ex.sess)
	if err != nil {
		return err
	}
	if !full.ServerSide() {
		return h.cfg.Sessions.Save(ex, r, mark(full))
	}
	unlock, acquired, err := h.cfg.Sessions.Lock(r.Context(), full.ID, refreshTimeout)
	if err != nil {
		return err
	}
	if !acquired {
		return errSessionBusy
	}
	defer unlock()
	cur, err := h.loadFull(r)
	if err != nil {
		return err
	}
	return h.cfg.Sessions.Save(ex, r, mark(cur))
}

// gatewayEndpoint reports whether path is under the prefix, and which
// endpoint ("/start", ...) it names.
func (h *Handler) gatewayEndpoint(path string) (string, bool) {
	if !strings.HasPrefix(path, h.prefix) {
		return "", false
	}
	rest := path[len(h.prefix):]
	if rest != "" && rest[0] != '/' {
		return "", false
	}
	return rest, true
}

// gatewayEndpoints are the gateway endpoints of docs/endpoints.md, by their
// path under the prefix: serveGateway dispatches them and Explain names
// them, from this one list.
var gatewayEndpoints = map[string]func(*Handler, *exchange, *http.Request){
	"/start":              (*Handler).handleStart,
	"/callback":           (*Handler).handleCallback,
	"/sign_out":           (*Handler).handleSignOut,
	"/signed_out":         (*Handler).handleSignedOut,
	"/backchannel_logout": (*Handler).handleBackchannelLogout,
	"/userinfo":           (*Handler).handleUserinfo,
	"/auth":               (*Handler).handleAuth,
	"/jwks.json":          (*Handler).handleJWKS,
	"/healthz":            (*Handler).handleHealth,
}

// serveGateway dispatches the gateway endpoints of docs/endpoints.md.
func (h *Handler) serveGateway(ex *exchange, r *http.Request, endpoint string) {
	ex.endpoint = true
	if serve, ok := gatewayEndpoints[endpoint]; ok {
		serve(h, ex, r)
		return
	}
	h.fail(ex, r, notFound(noSuchEndpoint))
}

// noSuchEndpoint is the answer to a path under the prefix that names no
// gateway endpoint.
const noSuchEndpoint = "no such gateway endpoint"

// Bounds of the values of a log line that a client chooses (logValue), so
// that a request makes a line of a few KiB at most: the request target
// alone may be 64 KiB, three times that once normalised, and log shippers
// split or drop a line past 16 to 48 KiB, which would let a client make its
// own line unreadable.
const (
	maxLoggedMethod = 64 // as tracing's http.request.method_original
	maxLoggedHost   = 256
	maxLoggedPath   = 2048
	maxLoggedUser   = 256 // OIDC Core §2: a sub is at most 255 ASCII characters
	maxLoggedCause  = 1024
)

// logValue is s as a log line shows a value a client chose: cut after n
// bytes (truncate), and with every character that is not printable (C1
// controls such as U+009B, an 8-bit CSI to terminals; bidirectional
// overrides) replaced by U+FFFD. slog's JSON handler escapes only the
// ASCII controls and the text handler quotes, so without this a value
// could still drive the terminal a JSON log is read on. ASCII, the usual
// case, is returned without allocating.
func logValue(s string, n int) string {
	s = truncate(s, n)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(printableOrReplacement, s)
		}
	}
	return s
}

// subAttr is the "sub" of a log line: the user, which user_claim may take
// from a claim the user chose (preferred_username, email), shown as
// logValue shows it.
func subAttr(sub string) slog.Attr { return slog.String("sub", logValue(sub, maxLoggedUser)) }

// printableOrReplacement maps r to itself when it is printable, else to
// U+FFFD.
func printableOrReplacement(r rune) rune {
	if unicode.IsPrint(r) {
		return r
	}
	return utf8.RuneError
}

// finish records the request's metrics and its one log line. The path is
// logged without the query string, which may carry codes and states.
func (h *Handler) finish(ex *exchange, r *http.Request) {
	status := ex.sentStatus()
	outcome := ex.outcome().String()
	method := ex.method
	if method == "" {
		method = r.Method
	}
	d := h.now().Sub(ex.start)
	h.metrics.request(ex.label, method, outcome, d)
	if !h.log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	var sub string
	if ex.id != nil {
		sub = ex.id.Subject
	}
	path := ex.path
	if path == "" {
		path = r.URL.EscapedPath()
	}
	host := r.Host
	if ex.host.Name != "" {
		host = ex.host.String()
	}
	// The record is handed to the handler directly: Logger.LogAttrs would
	// also walk the stack for a source position that no handler prints. A
	// record holds five attributes without allocating; the last five go in
	// as one group without a name, which handlers print inline, kept in
	// the exchange.
	ex.logTail = [...]slog.Attr{slog.String("outcome", outcome), slog.Int("status", status),
		slog.Float64("duration_ms", float64(d)/float64(time.Millisecond)), slog.String("user", logValue(sub, maxLoggedUser)),
		slog.String("remote_addr", peerHost(r.RemoteAddr))}
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", logValue(method, maxLoggedMethod)), slog.String("host", logValue(host, maxLoggedHost)),
		slog.String("path", logValue(path, maxLoggedPath)),
		slog.String("route", ex.label), slog.Attr{Value: slog.GroupValue(ex.logTail[:]...)})
	_ = h.log.Handler().Handle(r.Context(), rec)
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

// upperCaseMethod reports whether m has no lower-case letter (docs/requests.md, entry checks: "get"
// and "Post" are refused before matching).
func upperCaseMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if 'a' <= m[i] && m[i] <= 'z' {
			return false
		}
	}
	return true
}

// browserNavigation reports whether r is a browser navigation: GET or HEAD
// accepting text/html (docs/requests.md, outcomes).
func browserNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return acceptsHTML(r)
}

func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header["Accept"] {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// returnURL is where a login started by an intercepted request comes back
// to: the decided request's normalised path and raw query (forward-auth's
// come from the forwarded headers, not the subrequest's URL), on its own
// (canonical) host when that is not public_url's (routes may name other
// hosts; the redirect policy then decides whether that host may be
// returned to, else "/").
func (h *Handler) returnURL(ex *exchange) string {
	rel := relativeReturn(ex)
	if h.onPublicHost(ex) {
		return rel
	}
	return h.cfg.PublicURL.Scheme + "://" + ex.host.String() + rel
}

// relativeReturn is the decided request's normalised path and raw query.
func relativeReturn(ex *exchange) string {
	if ex.query == "" {
		return ex.path
	}
	return ex.path + "?" + ex.query
}

// onPublicHost reports whether the request came to public_url's host.
// Both are compared as parsed hosts, with the scheme's default port for
// none: public_url "https://gw:443" is reached with "Host: gw", and a
// client or front proxy may name the default port that public_url leaves
// out. Compared as strings, start sent such a request to public_url's
// start, which is the same host: a redirect loop.
func (h *Handler) onPublicHost(ex *exchange) bool {
	if h.public.Name == "" {
		return strings.EqualFold(ex.host.String(), h.cfg.PublicURL.Host)
	}
	scheme := h.cfg.PublicURL.Scheme
	return ex.host.Name == h.public.Name &&
		effectivePort(scheme, ex.host.Port) == effectivePort(scheme, h.public.Port)
}

// unionScopes returns a followed by the members of b not in a.
func unionScopes(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	seen := make(map[string]bool, len(a)+len(b))
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// publicEndpoint is the absolute URL of a gateway endpoint.
func (h *Handler) publicEndpoint(endpoint string) string {
	u := *h.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + h.prefix + endpoint
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	return u.String()
}

// withExchange returns r carrying ex for the reverse proxy's hooks.
func withExchange(r *http.Request, ex *exchange) *http.Request {
	ex.ctx = exchangeContext{Context: r.Context(), ex: ex}
	return r.WithContext(&ex.ctx)
}

func exchangeOf(r *http.Request) *exchange {
	ex, _ := r.Context().Value(exchangeKey{}).(*exchange)
	return ex
}

// statusWriter remembers the status code written, for logs and metrics.
// Unwrap lets http.ResponseController (used by ReverseProxy for flushing
// and upgrades) reach the underlying writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	// held are the headers the gateway set before forwarding (a renewed
	// session's Set-Cookie), kept aside while the upstream answers: an
	// interim response (103 Early Hints), which ReverseProxy copies from
	// the upstream and then clears the header map of, neither carries nor
	// loses them. They are added to the final response.
	held http.Header
	// sendIdle, while a forwarded answer is written, bounds each write to
	// the client (Write, Flush; endSend when the reverse proxy has
	// returned): a client that stops reading a large answer (a download,
	// an event stream) blocked the gateway's write for ever once the
	// socket buffers were full, and with it the upstream request: the
	// listener has no WriteTimeout, which would cut long streams. Like
	// nginx's send_timeout, the bound is on one write, so a stream that
	// pauses is not cut (an HTTP/2 stream's deadline resets it when it
	// passes, written to or not: it is lifted after each write). An
	// interim (1xx) answer gets none: a 101 hands the connection over to a
	// WebSocket, which must not inherit it. sent: a deadline was set.
	sendIdle time.Duration
	sent     bool
	// forwarded: the answer was the upstream's (endSend bounded its end).
	forwarded bool
}

// holdHeaders moves the headers set so far aside until the final response.
func (s *statusWriter) holdHeaders() {
	h := s.Header()
	if len(h) == 0 {
		return // the hot path
	}
	s.held = h.Clone()
	clear(h)
}

func (s *statusWriter) WriteHeader(code int) {
	if code < 200 && code != http.StatusSwitchingProtocols {
		// An interim response's headers are the upstream's as they came;
		// no cookie is set through one (the gateway's own cookies included).
		s.Header().Del("Set-Cookie")
	} else {
		s.release()
	}
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// release adds the held headers to the response. A response that carries
// a gateway cookie is kept out of every cache (unshareable).
func (s *statusWriter) release() {
	if s.held == nil {
		return
	}
	h := s.Header()
	if s.held["Set-Cookie"] != nil {
		unshareable(h)
	}
	for k, vs := range s.held {
		h[k] = append(h[k], vs...)
	}
	s.held = nil
}

// targetedCacheControl are the caching headers that shared caches obey
// instead of Cache-Control (RFC 9213; Fastly's and Akamai's
// Surrogate-Control; nginx's proxy_cache stores for X-Accel-Expires's
// seconds whatever Cache-Control says, private included). They are written
// in canonical form (CDN-Cache-Control is Cdn-Cache-Control), the form the
// server and the transport store, so that removing them is a plain delete:
// Header.Del would canonicalise, and allocate, on every answer.
var targetedCacheControl = [...]string{"Cdn-Cache-Control", "Surrogate-Control", "X-Accel-Expires"}

// unshareable makes a forwarded response that carries the gateway's
// Set-Cookie (a session saved again on the way) unfit for any cache,
// whatever the upstream said: a shared cache in front of the gateway that
// stores the response with its Set-Cookie (Apache's mod_cache does by
// default; public, s-maxage or heuristic freshness allow it) would hand the
// user's session cookie to everyone who asks for the URL (RFC 2965
// §4.2.3). It costs one uncached response per refresh.
func unshareable(h http.Header) {
	h.Set("Cache-Control", "no-store")
	for _, k := range targetedCacheControl {
		delete(h, k)
	}
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.release()
		s.status = http.StatusOK
	}
	if s.sendIdle > 0 && s.sendDeadline(time.Now().Add(s.sendIdle)) {
		n, err := s.ResponseWriter.Write(b)
		s.sendDeadline(time.Time{})
		return n, err
	}
	return s.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer when it can.
func (s *statusWriter) Flush() {
	timed := s.sendIdle > 0 && s.sendDeadline(time.Now().Add(s.sendIdle))
	_ = http.NewResponseController(s.ResponseWriter).Flush()
	if timed {
		s.sendDeadline(time.Time{})
	}
}

// sendDeadline sets the write deadline of the forwarded answer (zero:
// none), around each write; false when the writer has none (a test
// recorder).
func (s *statusWriter) sendDeadline(t time.Time) bool {
	if http.NewResponseController(s.ResponseWriter).SetWriteDeadline(t) != nil {
		return false
	}
	s.sent = true
	return true
}

// endSend, called when the reverse proxy has returned (not after a panic:
// the server closes that connection), gives what the server writes once
// the handler returns (what the answer left buffered, a chunked answer's
// closing bytes, HTTP/2's end of stream) a deadline too. The server lifts
// it once the answer is complete (HTTP/1.1: before the connection's next
// request; HTTP/2: with the stream).
func (s *statusWriter) endSend() {
	if s.sent {
		s.sendDeadline(time.Now().Add(s.sendIdle))
	}
	s.sendIdle, s.sent, s.forwarded = 0, false, true
}

// endOwn gives what the server writes of an answer the gateway made itself
// (a refusal, a redirect to sign in, an endpoint's page) once the handler
// has returned the bound endSend gives a forwarded one. Over HTTP/2 a
// client that grants no flow-control window held that write, and with it
// the stream's goroutine and buffers, for as long as it kept the
// connection (100 streams each, and a connection with streams open counts
// as busy for max_connections); now the stream is reset when it passes.
func (s *statusWriter) endOwn(idle time.Duration) {
	if !s.forwarded && idle > 0 {
		s.sendDeadline(time.Now().Add(idle))
	}
}

// Hijack hands the connection of an upgraded answer (a WebSocket) to the
// reverse proxy with each write to the client bounded by sendIdle, as the
// forwarded answers' are (sendTimedConn): an application pushing to a
// client that reads nothing was otherwise held until the identity ended,
// or for ever on a public route. The 101 itself, whose header block is the
// application's (up to maxResponseHeaderBytes), is written through brw:
// its writer goes through the bounded connection too.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil || s.sendIdle <= 0 {
		return conn, brw, err
	}
	timed := &sendTimedConn{Conn: conn, idle: s.sendIdle}
	if err := brw.Flush(); err != nil { // nothing is buffered yet: the server flushed the answer at Hijack
		_ = conn.Close()
		return nil, nil, err
	}
	return timed, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(timed)), nil
}

// sendTimedConn is an upgraded connection whose writes each wait at most
// idle. An idle connection, with nothing to write, has no deadline.
type sendTimedConn struct {
	net.Conn
	idle time.Duration
}

func (c *sendTimedConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	n, err := c.Conn.Write(p)
	_ = c.Conn.SetWriteDeadline(time.Time{})
	return n, err
}

// errNoHalfClose ends an upgraded connection whose application closed its
// side, when the client's connection cannot be half-closed.
var errNoHalfClose = errors.New("proxy: the connection cannot half-close")

// CloseWrite passes the application's half-close on to the client, which
// the reverse proxy does when the connection can (TCP, TLS).
func (c *sendTimedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errNoHalfClose
}

// Unwrap returns the underlying ResponseWriter.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
