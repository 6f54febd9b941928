package proxy

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis"
)

// handleAuth serves GET {prefix}/auth, the forward-auth endpoint for nginx
// auth_request, Traefik forwardAuth, Caddy forward_auth and Envoy ext_authz
// (docs/forward-auth.md). It decides, with the same decision function as
// proxy mode, exactly the request the front proxy names (originalRequest),
// believed only from a trusted proxy, and answers 200 (with the identity
// response headers when the route is not public), 401 without identity, 403
// when denied or unmatched. A session refreshed on the way sets its cookie
// on this reply, for the front proxy to pass on to the browser.
func (h *Handler) handleAuth(ex *exchange, r *http.Request) {
	// Shared, its capacity its length: an Add by a later hook copies it.
	ex.Header()["Cache-Control"] = noStore[:1:1]
	q, query, err := h.authSubrequest(ex, r)
	if err != nil {
		h.fail(ex, r, err)
		return
	}
	// The log line and metrics show the original request, not the subrequest.
	ex.method, ex.host, ex.path, ex.query = q.method, q.host, q.path, query
	if err = credentialPlacement(r.Header["Authorization"], query); err != nil {
		h.fail(ex, r, err)
		return
	}
	if err = h.decideAuth(ex, r, q, query); err != nil {
		h.failAuth(ex, r, err)
		return
	}
	h.answerAuth(ex, r, q)
}

// authSubrequest checks the subrequest itself and reads the original
// request it names. The order matters: the exact path, then a trusted peer
// before any forwarded header or query parameter is believed, then the
// query's oauth2-proxy conditions, the forwarded headers (originalRequest),
// the subrequest's own Host and the identity headers' spellings.
func (h *Handler) authSubrequest(ex *exchange, r *http.Request) (request, string, error) {
	if !h.exactAuthPath(r) {
		return request{}, "", notFound(noSuchEndpoint)
	}
	if !ex.trusted {
		return request{}, "", untrustedProxy()
	}
	if p := oauth2ProxyCondition(r.URL.RawQuery); p != "" {
		return request{}, "", badRequest(p+" on the forward-auth URL is an oauth2-proxy condition the gateway does not read: write it as a route's condition", nil)
	}
	q, query, err := originalRequest(r)
	if err == nil {
		err = h.checkSubrequestHost(r, q.host)
	}
	if err == nil {
		err = h.checkIdentitySpellings(r.Header)
	}
	return q, query, err
}

// decideAuth decides the original request q, and a POST that forwards
// again as the method its query's _method names.
func (h *Handler) decideAuth(ex *exchange, r *http.Request, q request, query string) error {
	if err := h.decide(ex, r, q); err != nil {
		return err
	}
	if q.method != http.MethodPost || !ex.dec.forwards() {
		return nil
	}
	// The original request's body is not sent to forward-auth: only
	// the query's _method can be seen (docs/forward-auth.md).
	other, err := methodOverride(query, 0, "", nil, false)
	if err == nil && other != "" {
		err = h.decideOverride(ex, r, q, other)
	}
	return err
}

// answerAuth writes forward-auth's answer to the decided request: 200 with
// the identity response headers, the 401 of a request without identity, or
// the refusal.
func (h *Handler) answerAuth(ex *exchange, r *http.Request, q request) {
	switch ex.dec.Outcome {
	case portcullis.OutcomePublic, portcullis.OutcomeAllow:
		if e := h.crossOriginWebSocket(ex, r); e != nil {
			h.failAuth(ex, r, e)
			return
		}
		h.allowAuth(ex, r, q.host)
	case portcullis.OutcomeUnauthenticated:
		// Not through refusal: its 401 would be one more allocation per
		// anonymous request, replaced at once.
		h.failAuth(ex, r, h.authSignIn(ex, r, q.method))
	default:
		h.failAuth(ex, r, ex.dec.refusal(http.StatusForbidden))
	}
}

// allowAuth writes the 200 of an allowed or public request: every identity
// response header blanked, then set from the identity when the route sends
// one, and the cookies of a session refreshed on the way.
func (h *Handler) allowAuth(ex *exchange, r *http.Request, host Host) {
	h.blankAuthResponse(ex.Header())
	h.setAuthCookies(ex, r.Header["Cookie"])
	if ex.sendsIdentity() {
		at := ""
		if ex.sess != nil {
			at = ex.sess.AccessToken
		}
		h.names.setAuthResponse(ex.Header(), h.identityValues(ex.id, at, h.audience(ex.dec.route, h.upstreamFor(ex.dec.route), host), h.identityEnd(ex)))
	}
	ex.WriteHeader(http.StatusOK)
}

// authSignIn is forward-auth's 401 for a request without an identity, as
// proxy mode answers it: a browser's navigation is sent to sign in (the
// page goes to start at once), any other request (a page's fetch, a
// form's POST) gets the 401 page or JSON of proxy mode, its sign-in link
// back to the page it came from. The subrequest carries the original
// request's Accept and Sec-Fetch-Mode; when the proxy names no method,
// those alone tell (only what to answer: the decision took every method).
func (h *Handler) authSignIn(ex *exchange, r *http.Request, method string) *httpError {
	if method == "" {
		method = http.MethodGet
	}
	if !navigation(method, r) {
		return h.signInRequired(ex, r)
	}
	e := unauthenticated()
	e.signIn = h.prefix + "/start?rd=" + rdValue(h.returnURL(ex))
	e.navigate = true
	return e
}

// failAuth writes forward-auth's refusal of the decided request. A 401
// carries returnURIHeader for the nginx and Caddy snippets' rd, after the
// scheme and host they know: the original URL they wrote into it
// unescaped lost its query after the first '&', and had '+' and escapes
// decoded into other characters. One longer than a return URL may be is
// "/", as start would make it: escaped, it could pass the response-header
// limit of the front proxy (Envoy's 60 KiB), which then fails the request.
func (h *Handler) failAuth(ex *exchange, r *http.Request, err error) {
	if e := classify(err); e.status == http.StatusUnauthorized && e.navigate {
		ex.Header().Set(returnURIHeader, rdValue(boundedReturn(ex)))
	}
	h.fail(ex, r, err)
}

// returnURIHeader carries, on a forward-auth 401, the original request's
// path and query escaped as an rd value (docs/forward-auth.md): a front
// proxy without a URL-escaping function appends it to the scheme and host.
const returnURIHeader = "X-Auth-Request-Return-Uri"

// oauth2ProxyConditions are the query parameters oauth2-proxy's auth
// endpoint reads as conditions on top of its own (an ingress's auth-url
// ".../oauth2/auth?allowed_groups=admins"). The gateway decides by its
// routes alone: answering such a subrequest would drop the condition and
// let in whom oauth2-proxy refused, so it is refused (docs/oauth2-proxy.md).
var oauth2ProxyConditions = []string{"allowed_groups", "allowed_emails", "allowed_email_domains"}

// oauth2ProxyCondition returns the first of oauth2ProxyConditions that the
// subrequest's own query names, or "". A name is read as url.ParseQuery
// (oauth2-proxy's reader) reads it, percent-escapes and '+' decoded, so an
// escaped letter does not hide it; ';' also separates, as some readers
// split on it, so that no reader finds a condition the gateway missed. It
// allocates nothing: forward-auth answers every request behind the front
// proxy.
func oauth2ProxyCondition(rawQuery string) string {
	if !strings.Contains(rawQuery, "allowed") && strings.IndexByte(rawQuery, '%') < 0 {
		return "" // no name can be spelled without one: the common query
	}
	for rawQuery != "" {
		i := strings.IndexAny(rawQuery, "&;")
		pair := rawQuery
		if i >= 0 {
			pair, rawQuery = rawQuery[:i], rawQuery[i+1:]
		} else {
			rawQuery = ""
		}
		key, _, _ := strings.Cut(pair, "=")
		if len(key) < len("allowed_emails") {
			continue // the shortest name; escapes only lengthen it
		}
		for _, p := range oauth2ProxyConditions {
			if queryKeyIs(key, p) {
				return p
			}
		}
	}
	return ""
}

// queryKeyIs reports whether the raw query key, unescaped as
// url.QueryUnescape does, is name. A key with an invalid escape is no name:
// url.ParseQuery skips it.
func queryKeyIs(key, name string) bool {
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			var ok bool
			if i+2 >= len(key) {
				return false
			}
			if c, ok = unhexPair(key[i+1], key[i+2]); !ok {
				return false
			}
			i += 2
		}
		if n >= len(name) || name[n] != c {
			return false
		}
		n++
	}
	return n == len(name)
}

// exactAuthPath reports whether r names the forward-auth endpoint by its
// exact path. Every front proxy is configured with it, and keeps clients
// from the endpoint by that path alone (Traefik's !Path(`/oauth2/auth`),
// before 2.11.24 and 3.3.6 on the raw path): another spelling the gateway
// normalises to it ("/oauth2//auth") comes from a client.
func (h *Handler) exactAuthPath(r *http.Request) bool {
	return r.URL.EscapedPath() == h.prefix+"/auth"
}

// checkIdentitySpellings refuses a subrequest that carries an identity
// header (or another header the gateway sets or removes, a peer claim such
// as Remote-User or X-Real-IP included) spelled with '_' or '.' for '-':
// the front proxy sets or removes the header by its own name, passes the
// other spelling on (Traefik both, Caddy '.'), and CGI, WSGI, Rack and PHP
// apps read "X_Forwarded.User" as X-Forwarded-User. Proxy mode removes such
// spellings; forward-auth cannot, so it refuses them.
func (h *Handler) checkIdentitySpellings(hdr http.Header) error {
	for k := range hdr {
		if strings.ContainsAny(k, "_.") && (h.scrub.has(k) || peerClaims.has(k)) {
			return badRequest("the original request carries a header the gateway sets, spelled with '_' or '.'", nil)
		}
	}
	return nil
}

// blankAuthResponse sets every identity response header to "" before the
// identity's values are set: a front proxy that copies them onto the
// request to the app then overwrites a client's own even when the answer
// has no identity (a public route) or no value (no verified email), and
// none is left to a proxy's idea of a missing header (Caddy before 2.6.3
// copies a placeholder's text).
// The blank value is shared by every answer, as the identity's cached
// values are: forward-auth answers every request behind the front proxy.
func (h *Handler) blankAuthResponse(hdr http.Header) {
	for _, k := range [...]string{authRequestUser, authRequestEmail, authRequestGroups, authRequestUsername} {
		hdr[k] = blankValue[:1:1]
	}
	if h.names.assertion != "" {
		hdr[h.names.assertion] = blankValue[:1:1]
	}
}

// blankValue and noStore are header values shared by every forward-auth
// answer; nothing writes into a header's values in place.
var (
	blankValue = []string{""}
	noStore    = []string{"no-store"}
)
