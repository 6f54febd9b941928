package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/policy"
	"golang.org/x/net/http/httpguts"
)

// defaultUpstreamTimeout is an upstream's response-header timeout when its
// timeout is not set.
const defaultUpstreamTimeout = 30 * time.Second

// maxResponseHeaderBytes bounds the header block of an upstream's answer
// (an interim one's too), past which the answer is a 502. Go's default is
// 10 MiB, which a broken or hostile application made the gateway read,
// hold and pass on for every answer in flight. Chrome refuses answers
// whose header exceeds 256 KiB itself, so no answer a browser could use is
// refused.
const maxResponseHeaderBytes = 256 << 10

// upstream is one [[upstreams]] entry with its reverse proxy, built once.
type upstream struct {
	name         string
	target       *url.URL
	basePath     string // the upstream URL's path without a trailing slash
	preserveHost bool
	audience     string // assertion_audience; "" = derived per request
	bodies       *bodyPool
	rp           *httputil.ReverseProxy
	transport    *http.Transport // rp's, under the tracing wrapper
}

// buildUpstreams builds one reverse proxy per upstream, each with its own
// tuned transport and a shared buffer pool.
func (h *Handler) buildUpstreams() error {
	h.upstreams = make(map[string]*upstream, len(h.cfg.Upstreams))
	pool, bodies := &bufferPool{}, &bodyPool{timeout: preReadTimeout, idle: streamIdleTimeout}
	h.bodies, h.sendIdle = bodies, sendIdleTimeout
	for _, u := range h.cfg.Upstreams {
		if u.URL == nil || (u.URL.Scheme != "http" && u.URL.Scheme != "https" && u.URL.Scheme != "h2c") || u.URL.Hostname() == "" {
			return fmt.Errorf("proxy: upstream %q: URL must be absolute http(s) or h2c, got %v", u.Name, u.URL)
		}
		if _, dup := h.upstreams[u.Name]; dup {
			return fmt.Errorf("proxy: upstream %q defined twice", u.Name)
		}
		tr, err := newTransport(u, h.cfg.OwnListener)
		if err != nil {
			return err
		}
		up := &upstream{name: u.Name, target: wireURL(u.URL), basePath: strings.TrimSuffix(u.URL.EscapedPath(), "/"),
			preserveHost: u.PreserveHost, audience: u.AssertionAudience, bodies: bodies, transport: tr}
		var rt http.RoundTripper = tr
		if h.tracing != nil {
			rt = &tracedTransport{base: tr, tracing: h.tracing, upstream: u.Name}
		}
		up.rp = &httputil.ReverseProxy{
			Rewrite:        func(pr *httputil.ProxyRequest) { h.rewrite(up, pr) },
			Transport:      rt,
			FlushInterval:  u.FlushInterval,
			BufferPool:     pool,
			ModifyResponse: h.modifyResponse,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				h.upstreamError(w, r, up.name, err)
			},
			// An upstream answer that breaks off is reported here; left
			// nil, Go's standard logger wrote it outside [log] format,
			// level and buffering.
			ErrorLog: log.New(upstreamErrorLog{h.log.With("upstream", u.Name)}, "", 0),
		}
		h.upstreams[u.Name] = up
	}
	if len(h.upstreams) == 1 {
		for _, up := range h.upstreams {
			h.single = up
		}
	}
	return nil
}

// newTransport is the tuned transport of one upstream: a large idle pool,
// the response-header timeout, the extra CA and HTTP/2 to TLS upstreams.
func newTransport(u Upstream, own func(netip.AddrPort) bool) (*http.Transport, error) {
	timeout := u.Timeout
	if timeout <= 0 {
		timeout = defaultUpstreamTimeout
	}
	tr := &http.Transport{
		Proxy: nil, // never send upstream traffic through an environment proxy
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second,
			Control: refuseOwnListener(own)}).DialContext,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		ForceAttemptHTTP2:      u.URL.Scheme == "https",
		// The upstream is asked for what the client accepts and its answer
		// passed on as it comes: by default the transport asked for gzip
		// for every client that accepts no encoding (wrk, curl, most API
		// clients) and inflated the answer in the gateway, its CPU, with
		// the answer's length dropped.
		DisableCompression: true,
	}
	if u.URL.Scheme == "h2c" {
		// HTTP/2 with prior knowledge, the only protocol of this transport:
		// an http:// request goes out as h2c (RFC 9113 §3.3), never as
		// HTTP/1.1 nor as an Upgrade.
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	if u.URL.Scheme == "https" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: u.TLSSkipVerify} //nolint:gosec // opt-in per upstream
		tc.RootCAs = u.RootCAs                                                               // nil = the system roots
		tr.TLSClientConfig = tc
	}
	return tr, nil
}

// errOwnListener refuses an upstream connection to the gateway itself.
var errOwnListener = errors.New("the upstream's address is one of the gateway's own listeners")

// refuseOwnListener is the dialler's check of the address it resolved,
// before it connects: own (nil = none) says whether the gateway listens
// there. The name in the file may be any that resolves to this host.
func refuseOwnListener(own func(netip.AddrPort) bool) func(string, string, syscall.RawConn) error {
	if own == nil {
		return nil
	}
	return func(_, address string, _ syscall.RawConn) error {
		if ap, err := netip.ParseAddrPort(address); err == nil && own(ap) {
			return errOwnListener
		}
		return nil
	}
}

// wireURL is the URL requests to the upstream carry: an h2c upstream's is
// its http:// form, which its transport speaks as h2c.
func wireURL(u *url.URL) *url.URL {
	if u.Scheme != "h2c" {
		return u
	}
	w := *u
	w.Scheme = "http"
	return &w
}

// CloseIdleConnections closes the upstreams' idle connections. A reload
// calls it on the handler it replaced once that handler's requests have had
// the drain time to finish: the new handler has transports of its own, and
// the old pools would otherwise hold their connections (a file descriptor
// and two goroutines each, and the upstream's) for the idle timeout of 90 s
// after every reload.
func (h *Handler) CloseIdleConnections() {
	for _, up := range h.upstreams {
		up.transport.CloseIdleConnections()
	}
}

// upstreamFor returns the route's upstream; a route without one uses the
// only upstream.
func (h *Handler) upstreamFor(r *policy.Route) *upstream {
	if r.Upstream == "" {
		return h.single
	}
	return h.upstreams[r.Upstream]
}

// forward sends the request upstream and measures the upstream latency. A
// body of up to preReadLimit bytes is read first, so that a malformed one
// is the client's 400 and never reaches the upstream (body.go).
func (h *Handler) forward(ex *exchange, r *http.Request, up *upstream) {
	if ex.body == nil { // else a form, read before the decision (readForm)
		body, err := preRead(ex, r, up.bodies, false)
		if err != nil {
			abandonBody(ex, r)
			h.fail(ex, r, bodyError(err))
			return
		}
		ex.body = body // released when serve returns
	}
	ex.holdHeaders()
	ex.noInterim = !r.ProtoAtLeast(1, 1)
	// The answer ends with the identity (watchAnswer), and so does the
	// request, whose body may have taken the pre-read time. An anonymous
	// one (a public route) is watched too, as its upgrade is: a reload
	// whose routes no longer admit it ends it (stillAllowed).
	if err := h.watchStream(ex, r); err != nil {
		h.refuseEnded(ex, r, err)
		return
	}
	h.watchUpload(ex, r)
	req := withExchange(r, ex)
	if r.Header["Upgrade"] != nil && httpguts.HeaderValuesContainsToken(r.Header["Connection"], "Upgrade") {
		var stop func()
		req, stop = h.watchUpgrade(ex, r, req)
		defer stop()
	}
	start := h.now()
	// Deferred: an answer the client aborts ends ServeHTTP in a panic.
	defer func() { h.metrics.upstream(up.name, h.now().Sub(start)) }()
	ex.sendIdle = h.sendIdle
	up.rp.ServeHTTP(ex, req)
	ex.endSend()
}

// rewrite builds the outbound request (never a Director: a client's
// Connection header could remove what a Director set). It forwards exactly
// the normalised path that was authorized, cleans the headers per docs/requests.md
// request hygiene and sets the identity of an allowed request.
func (h *Handler) rewrite(up *upstream, pr *httputil.ProxyRequest) {
	ex := exchangeOf(pr.In)
	out := pr.Out
	out.URL.Scheme, out.URL.Host = up.target.Scheme, up.target.Host
	path := ex.path
	if up.basePath != "" {
		path = up.basePath + path
	}
	setWirePath(out.URL, path)
	// The query goes as the client sent it and as it was decided.
	// ReverseProxy re-encoded one with a ';' or a malformed escape from
	// url.ParseQuery, dropping what that cannot parse ("sort=name;asc&page=2"
	// arrived as "page=2"); the gateway's own reading of a query
	// (hasAccessTokenParam, eachParam) splits at ';' too and keeps malformed
	// escapes, as the frameworks do, so the bytes it forwards are the bytes
	// it read. checkQuery has refused a raw space, control character or '#'.
	out.URL.RawQuery = ex.query
	if up.target.RawQuery != "" {
		if out.URL.RawQuery == "" {
			out.URL.RawQuery = up.target.RawQuery
		} else {
			out.URL.RawQuery = up.target.RawQuery + "&" + out.URL.RawQuery
		}
	}
	if up.preserveHost {
		out.Host = ex.host.String() // the one parsed host, never the client's spelling
	} else {
		out.Host = ""
	}
	baseDestination(out, up, ex.host)
	h.scrub.scrubHeaders(out.Header)
	// Request trailers are never forwarded: they would carry, past the
	// scrubbing above, any header (an identity header included) to an
	// upstream that merges trailers into headers.
	out.Trailer = nil
	h.setForwarded(pr, ex)
	h.stripOwnCookies(out.Header)
	if ex.sendsIdentity() {
		// A bearer request's values carry its token, so that the access-token
		// header is not built again for each request (setIdentity checks it).
		at := ex.bearer
		if ex.sess != nil {
			at = ex.sess.AccessToken
		}
		h.names.setIdentity(out.Header, h.identityValues(ex.id, at, h.audience(ex.dec.route, up, ex.host), h.identityEnd(ex)), ex.bearer)
	}
}

// setWirePath makes u's path the escaped path, spelled as it is. Normalize
// only emits valid escapes, so PathUnescape cannot fail. The path goes out
// as RawPath whenever url.URL would spell it otherwise: with escapes, and
// with "!", "'", "(", ")" or "*", which Normalize keeps raw and url.URL
// re-encodes (the upstream would receive another path than the one
// authorized).
func setWirePath(u *url.URL, path string) {
	u.Path, u.RawPath = path, ""
	if strings.IndexByte(path, '%') >= 0 {
		if dec, err := url.PathUnescape(path); err == nil {
			u.Path, u.RawPath = dec, path
		}
	} else if strings.ContainsAny(path, "!'()*") {
		u.RawPath = path
	}
}

// setForwarded sets X-Forwarded-For/Proto/Host from the real peer, and
// keeps the client address and scheme a trusted proxy in front of the
// gateway said (docs/requests.md). X-Forwarded-Host is always the host the
// gateway parsed and decided (canonical: lower case, no trailing dot),
// never the client's spelling of it, nor a trusted proxy's: load balancers
// that set none (AWS ALB, Google's) pass the client's on, and an
// application that believes it would act on a host whose routes did not
// decide the request.
func (h *Handler) setForwarded(pr *httputil.ProxyRequest, ex *exchange) {
	in, out := pr.In, pr.Out.Header
	var prior []string
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	if ex.trusted {
		prior = in.Header["X-Forwarded-For"]
		if v, _ := forwardedProto(in); v != "" {
			proto = v
		}
	} else {
		peerClaims.deleteFrom(out)
	}
	forwardedHost := in.Host
	if ex.host.Name != "" {
		forwardedHost = ex.host.String()
	}
	// The values live in ex.fwd (SetXForwarded allocated a slice for each);
	// each slice's capacity is its length, so an Add to one copies.
	vals := ex.fwd.forwarded[:]
	vals[1], vals[2] = forwardedHost, proto
	out["X-Forwarded-Host"], out["X-Forwarded-Proto"] = vals[1:2:2], vals[2:3:3]
	clientIP, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		delete(out, "X-Forwarded-For") // as SetXForwarded: no peer address, no chain
		return
	}
	if len(prior) > 0 {
		clientIP = strings.Join(prior, ", ") + ", " + clientIP
	}
	vals[0] = clientIP
	out["X-Forwarded-For"] = vals[0:1:1]
}

// forwardedProto is a trusted proxy's X-Forwarded-Proto, lower-cased, or
// "" when it sent none. It must come once and name http or https in ASCII
// letters (strings.EqualFold took "httpſ", with a long s, for https), else
// 400 (checked at entry, decideRequest): a proxy that appends instead of
// replacing (HAProxy's add-header, a list joined with ", ") puts the
// client's own value first, and frameworks disagree on which element of a
// list they believe (Django the first, Rack the last).
func forwardedProto(r *http.Request) (string, error) {
	v, err := singleHeader(r, "X-Forwarded-Proto")
	switch {
	case err != nil || v == "":
		return "", err
	case ascii.EqualFold(v, "https"):
		return "https", nil
	case ascii.EqualFold(v, "http"):
		return "http", nil
	}
	return "", badRequest("the forwarded scheme is not http or https", nil)
}

// upstreamError answers a failed upstream round trip with the 502 page or
// JSON, and a round trip that failed on the client's body with 400. A
// client that went away gets no answer.
func (h *Handler) upstreamError(w http.ResponseWriter, r *http.Request, name string, err error) {
	ex := exchangeOf(r)
	if ex == nil { // not reached: forward always attaches the exchange
		ex = &exchange{statusWriter: statusWriter{ResponseWriter: w}}
	}
	if clientBodyFailed(r, err) {
		// The client's body broke off or is malformed: its error, not the
		// upstream's. The transport has aborted the upstream request.
		abandonBody(ex, r)
		h.fail(ex, r, bodyError(clientBodyCause(r, err)))
		return
	}
	if endedError(err) != nil {
		// The identity ended while the application held its answer back
		// (a long poll, watchAnswer): the credentials failed, not the
		// application.
		h.fail(ex, r, endedError(err))
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		h.fail(ex, r, clientClosed()) // nobody reads this
		return
	}
	// r is the request as sent upstream: its query and headers are what an
	// echoing peer puts in the error (sentRedacted).
	e := badGateway("the application behind the gateway is not responding", sentRedacted(r, err))
	e.upstream = name
	h.fail(ex, r, e)
}

// endedError is the answer to a request whose identity ended, or which
// is no longer allowed, after it was decided (identityStream.check): 401,
// or 403 for a request the rules in force or the user's groups as they are
// now refuse, or 503 for one whose checks failed for upgradeUncheckedGrace
// or whose stale groups the store cannot let be read again, what a new
// request would get; nil for any other error.
func endedError(err error) *httpError {
	switch {
	case errors.Is(err, errUpgradeExpired), errors.Is(err, errUpgradeRevoked):
		return unauthenticated()
	case errors.Is(err, errUpgradeDenied):
		return forbidden(errUpgradeDenied.Error())
	case errors.Is(err, errUpgradeUnchecked):
		return unavailable("the session or token cannot be checked; please retry shortly", err)
	case errors.Is(err, errUpgradeGroupsUnread):
		return unavailable("the session store is not available; please retry shortly", err)
	}
	return nil
}

// refuseEnded answers a request whose identity ended before the upstream
// was contacted (watchStream); a body still streaming from the client is
// abandoned rather than drained.
func (h *Handler) refuseEnded(ex *exchange, r *http.Request, err error) {
	if ex.body != nil && ex.body.rest != nil {
		abandonBody(ex, r)
	}
	h.fail(ex, r, endedError(err))
}

// bufferPool lends the reverse proxy 32 KiB copy buffers. It stores array
// pointers so that Put does not allocate.
type bufferPool struct{ p sync.Pool }

const copyBufferSize = 32 << 10

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[copyBufferSize]byte); ok {
		return v[:]
	}
	return new([copyBufferSize]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != copyBufferSize {
		return
	}
	b.p.Put((*[copyBufferSize]byte)(buf[:copyBufferSize]))
}
