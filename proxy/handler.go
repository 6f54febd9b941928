package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

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
	cfg           Config
	now           func() time.Time
	log           *slog.Logger
	prefix        string
	redirects     *redirectPolicy
	origin        string // public_url's origin, for the sign-out Origin check
	public        Host   // public_url's host as policy.ParseHost reads a request's
	pageCSP       string // Content-Security-Policy of the HTML pages
	issuer        string // public_url, the assertions' iss
	states        stateJar
	upstreams     map[string]*upstream
	single        *upstream     // the only upstream, when there is exactly one
	bodies        *bodyPool     // the upstreams' pre-read buffers, also for forms read before the decision (readForm)
	sendIdle      time.Duration // sendIdleTimeout (tests shorten it)
	scrub         headerSet     // inbound headers always removed
	names         headerNames
	signer        *signer
	idCache       *valueCache
	metrics       *metrics
	tracing       *tracing // nil = no tracing
	refresher     refresher
	login         Login               // cfg.Provider, for sign-in
	logout        Logout              // cfg.Provider, for sign-out and back-channel logout
	verifier      Verifier            // cfg.Provider, for bearer tokens and refresh
	revoker       session.Revoker     // cfg.Sessions when it can revoke; nil = back-channel logout answers 501
	replay        session.ReplayGuard // cfg.Sessions when replicas share it; nil = states are single-use per process
	exchanges     chan struct{}       // one per code exchange in flight (maxLoginExchanges)
	chunkWarn     sync.Once           // warnChunkedAuthCookie's one warning
	noRefreshWarn sync.Once           // warnNoRefreshToken's one warning
}

// New checks cfg and builds a Handler: one reverse proxy per upstream, the
// header sets, the assertion signer and the metrics.
func New(cfg Config) (*Handler, error) {
	public, err := publicHost(cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	setDefaults(&cfg)
	h := newHandler(cfg, public)
	if err := h.buildParts(); err != nil {
		return nil, err
	}
	return h, nil
}

// publicHost checks that u, public_url, is an absolute http(s) URL and
// returns its host as a request's is read.
func publicHost(u *url.URL) (Host, error) {
	if u == nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return Host{}, fmt.Errorf("proxy: public URL must be an absolute http(s) URL, got %v", u)
	}
	// A host no request can name (a port written "0443", a non-ASCII
	// name) would leave public_url's host out of every comparison with a
	// request's, the subrequest Host check of forward-auth included.
	public, err := policy.ParseHost(u.Host)
	if err != nil {
		return Host{}, fmt.Errorf("proxy: public URL's host %q is not one a request can name: %w", u.Host, err)
	}
	return public, nil
}

// checkConfig refuses a cfg without its required parts, with a malformed
// prefix (defaultPrefix when empty) or branding.
func checkConfig(cfg *Config) error {
	if cfg.Routes == nil || cfg.Provider == nil || cfg.Sessions == nil || cfg.LoginStates == nil {
		return errors.New("proxy: Routes, Provider, Sessions and LoginStates are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = defaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || strings.HasSuffix(cfg.Prefix, "/") || strings.Contains(cfg.Prefix, "//") {
		return fmt.Errorf("proxy: prefix must start and not end with \"/\", got %q", cfg.Prefix)
	}
	if !NormalPrefix(cfg.Prefix) {
		return fmt.Errorf("proxy: prefix must be spelled as a normalised request path is, got %q", cfg.Prefix)
	}
	return cfg.Branding.check()
}

// setDefaults fills the Config fields whose zero value means a default.
func setDefaults(cfg *Config) {
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = defaultLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

// newHandler makes the Handler of a checked cfg with the parts that cannot
// fail, the refresher's memory inherited from the generation in force.
func newHandler(cfg Config, public Host) *Handler {
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
	var prev *Handler
	if cfg.Live != nil {
		prev = cfg.Live() // a reload: the generation in force until h
	}
	h.refresher.inherit(prev, cfg.Now)
	h.revoker, _ = cfg.Sessions.(session.Revoker)
	h.replay, _ = cfg.Sessions.(session.ReplayGuard)
	h.public = public
	return h
}

// buildParts builds the parts of h that can fail on cfg: the redirect
// policy, the metrics, the assertion signer and the upstreams.
func (h *Handler) buildParts() error {
	cfg := &h.cfg
	var err error
	if h.redirects, err = newRedirectPolicy(cfg.PublicURL, cfg.AllowedRedirectHosts); err != nil {
		return err
	}
	if h.metrics, err = newMetrics(cfg.Metrics); err != nil {
		return err
	}
	if h.signer, err = newSigner(cfg.AssertionKey, cfg.AssertionPublishedKeys, cfg.RetiredAssertionKey, cfg.RetiredAssertionKeyUntil); err != nil {
		return err
	}
	return h.buildUpstreams()
}

// JWKS returns the JSON Web Key Set that verifies the assertion header.
func (h *Handler) JWKS() []byte { return h.signer.keySet(h.now()) }

// ServeHTTP runs one request through the decision flow described in
// docs/architecture.md ("A request's way"): limits, path normalisation, gateway endpoints or route
// match, identity, decision, and forwarding or an error answer.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ex := h.newExchange(w, r)
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
	if err := credentialPlacement(r.Header["Authorization"], r.URL.RawQuery); err != nil {
		// Refused whatever the route, as forward-auth refuses it for the
		// original request (handleAuth): a public route must not forward
		// in one mode what the other refuses.
		return "", false, err
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
		if e := h.crossOriginWebSocket(ex, r); e != nil {
			h.fail(ex, r, e)
			return
		}
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
		h.fail(ex, r, h.signInRequired(ex, r))
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

// errSessionBusy is recordStepUp's answer when another request holds the
// session's lock (a refresh): the attempt is not recorded this time.
var errSessionBusy = errors.New("the session is being saved by another request")

// NormalPrefix reports whether prefix is spelled as the normalised path of
// a request that names it, and as routes match that path
// (policy.MatchKey): gatewayEndpoint compares the two, so a prefix that
// normalises otherwise ("/{gw}" is "/%7Bgw%7D", "/über" "/%C3%BCber")
// names no request, and every endpoint, the callback and sign-out
// included, would be left to the routes and the application.
func NormalPrefix(prefix string) bool {
	n, err := policy.Normalize(prefix)
	return err == nil && n == prefix && policy.MatchKey(prefix) == prefix
}

// gatewayEndpoint reports whether path is under the prefix, and which
// endpoint ("/start", ...) it names. The path is read as routes read it
// (policy.MatchKey): "/%40gw/start", which a route would match as
// "/@gw/start", is under the prefix "/@gw" and is the gateway's, never
// the application's.
func (h *Handler) gatewayEndpoint(path string) (string, bool) {
	path = policy.MatchKey(path)
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
// accepting text/html (docs/requests.md, outcomes), unless the browser
// names it a page's own request (Sec-Fetch-Mode cors, same-origin, no-cors,
// websocket). A page's fetch that asks for HTML (Turbo, htmx, partial
// loads) was sent to the provider once its session ended: the browser
// followed that redirect cross-origin and gave the page a CORS failure,
// no status, and each such fetch made a login-state cookie.
func browserNavigation(r *http.Request) bool {
	return navigation(r.Method, r)
}

// navigation reports whether a request with method and r's headers is a
// browser's navigation; forward-auth's method is the original request's.
func navigation(method string, r *http.Request) bool {
	if method != http.MethodGet && method != http.MethodHead {
		return false
	}
	if pageRequest(r) {
		return false
	}
	return acceptsHTML(r)
}

// pageRequest reports whether the browser names r a page's own request
// (Sec-Fetch-Mode cors, same-origin, no-cors, websocket), not a navigation.
func pageRequest(r *http.Request) bool {
	m := r.Header.Get("Sec-Fetch-Mode")
	return m != "" && m != "navigate"
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
	return h.onDecidedHost(ex, boundedReturn(ex))
}

// onDecidedHost is the return path rel as a return URL: rel itself on
// public_url's host, else absolute on the decided request's host, to
// which start on public_url's host then returns.
func (h *Handler) onDecidedHost(ex *exchange, rel string) string {
	if h.onPublicHost(ex) {
		return rel
	}
	return h.cfg.PublicURL.Scheme + "://" + ex.host.String() + rel
}

// boundedReturn is the decided request's normalised path and raw query,
// or "/" when that is longer than a return URL may be: start makes such an
// rd "/" anyway, and every page, link and Location that carries it escapes
// it once or twice more: a 48 KB request target drew a 312 KB Location
// and a 157 KB 401 page, each held whole in memory until written.
func boundedReturn(ex *exchange) string {
	rel := ex.path
	if ex.query != "" {
		rel += "?" + ex.query
	}
	return boundedRel(rel)
}

// boundedRel is the return path rel, or "/" when it is longer than a return
// URL may be (boundedReturn).
func boundedRel(rel string) string {
	if len(rel) > maxRedirectLen {
		return "/"
	}
	return rel
}

// onPublicHost reports whether the request came to public_url's host.
// Both are compared as parsed hosts, with the scheme's default port for
// none: public_url "https://gw:443" is reached with "Host: gw", and a
// client or front proxy may name the default port that public_url leaves
// out. Compared as strings, start sent such a request to public_url's
// start, which is the same host: a redirect loop.
func (h *Handler) onPublicHost(ex *exchange) bool {
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

// errNoHalfClose ends an upgraded connection whose application closed its
// side, when the client's connection cannot be half-closed.
var errNoHalfClose = errors.New("proxy: the connection cannot half-close")
