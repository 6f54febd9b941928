package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
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
	if !h.exactAuthPath(r) {
		h.fail(ex, r, notFound(noSuchEndpoint))
		return
	}
	if !ex.trusted {
		h.fail(ex, r, untrustedProxy())
		return
	}
	if p := oauth2ProxyCondition(r.URL.RawQuery); p != "" {
		h.fail(ex, r, badRequest(p+" on the forward-auth URL is an oauth2-proxy condition the gateway does not read: write it as a route's condition", nil))
		return
	}
	q, query, err := originalRequest(r)
	if err == nil {
		err = h.checkIdentitySpellings(r.Header)
	}
	if err != nil {
		h.fail(ex, r, err)
		return
	}
	// The log line and metrics show the original request, not the subrequest.
	ex.method, ex.host, ex.path, ex.query = q.method, q.host, q.path, query
	if hasAccessTokenParam(query) {
		h.fail(ex, r, badRequest("access tokens are not accepted in the query string", nil))
		return
	}
	if err = h.decide(ex, r, q); err != nil {
		h.failAuth(ex, r, err)
		return
	}
	if q.method == http.MethodPost && ex.dec.forwards() {
		// The original request's body is not sent to forward-auth: only
		// the query's _method can be seen (docs/forward-auth.md).
		other, err := methodOverride(query, 0, "", nil, false)
		if err == nil && other != "" {
			err = h.decideOverride(ex, r, q, other)
		}
		if err != nil {
			h.failAuth(ex, r, err)
			return
		}
	}
	switch ex.dec.Outcome {
	case portcullis.OutcomePublic, portcullis.OutcomeAllow:
		h.blankAuthResponse(ex.Header())
		if ex.sendsIdentity() {
			at := ""
			if ex.sess != nil {
				at = ex.sess.AccessToken
			}
			h.names.setAuthResponse(ex.Header(), h.identityValues(ex.id, at, h.audience(ex.dec.route, h.upstreamFor(ex.dec.route), q.host), h.identityEnd(ex)))
		}
		ex.WriteHeader(http.StatusOK)
	default:
		e := ex.dec.refusal(http.StatusForbidden)
		if e.status == http.StatusUnauthorized {
			e = h.authSignIn(ex, r, q.method)
		}
		h.failAuth(ex, r, e)
	}
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
	e := ex.dec.refusal(http.StatusForbidden)
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
		rel := relativeReturn(ex)
		if len(rel) > maxRedirectLen {
			rel = "/"
		}
		ex.Header().Set(returnURIHeader, rdValue(rel))
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

// originalRequest reads the request a front proxy asks about: its method
// from X-Forwarded-Method or X-Original-Method (ingress-nginx), its host and
// path from X-Forwarded-Host + X-Forwarded-Uri, X-Original-URL (an absolute
// URL) or X-Original-URI (a path, with X-Forwarded-Host or the subrequest's
// Host). Every source present must name the same request, each header at
// most once: otherwise a client could add one its proxy passes through and
// have the laxer one believed. No method named leaves q.method "" (decided
// for every method).
func originalRequest(r *http.Request) (q request, query string, err error) {
	m1, err := singleHeader(r, "X-Forwarded-Method")
	if err != nil {
		return q, "", err
	}
	m2, err := singleHeader(r, "X-Original-Method")
	if err != nil {
		return q, "", err
	}
	if m1 != "" && m2 != "" && m1 != m2 {
		return q, "", badRequest("X-Forwarded-Method and X-Original-Method name different methods", nil)
	}
	if q.method = m1; q.method == "" {
		q.method = m2
	}
	if q.method != "" && !policy.ValidMethod(q.method) {
		return q, "", badRequest("the forwarded method is not an upper-case method name", nil)
	}
	if e := checkMethod(q.method); e != nil {
		return q, "", e
	}
	if e := checkMethodOverride(r.Header); e != nil {
		return q, "", e
	}
	if e := checkPathRewrite(r.Header); e != nil {
		return q, "", e
	}
	if e := checkH2CUpgrade(r.Header); e != nil {
		return q, "", e
	}
	named := make([]target, 0, 3)
	for _, src := range [...]func(*http.Request) (target, bool, error){
		forwardedTarget, originalURLTarget, originalURITarget,
	} {
		t, ok, err := src(r)
		if err != nil {
			return q, "", err
		}
		if ok {
			named = append(named, t)
		}
	}
	if len(named) == 0 {
		return q, "", badRequest("the original request is not named (X-Forwarded-Uri or X-Original-URL)", nil)
	}
	first := named[0]
	for _, t := range named[1:] {
		if t.host != first.host || t.path != first.path || t.query != first.query {
			return q, "", badRequest("the forwarded headers name different requests", nil)
		}
	}
	q.host, q.path = first.host, first.path
	return q, first.query, nil
}

// target is the host, normalised path and raw query one set of forwarded
// headers names.
type target struct {
	host  Host
	path  string
	query string
}

// forwardedTarget reads X-Forwarded-Host + X-Forwarded-Uri (Traefik, Caddy,
// the documented nginx and Envoy snippets).
func forwardedTarget(r *http.Request) (target, bool, error) {
	return uriTarget(r, "X-Forwarded-Uri", "X-Forwarded-Uri")
}

// originalURITarget reads X-Original-URI (a request-target, as nginx's
// $request_uri), with the host from X-Forwarded-Host or the subrequest.
func originalURITarget(r *http.Request) (target, bool, error) {
	return uriTarget(r, "X-Original-Uri", "X-Original-URI")
}

// uriTarget reads a request-target from the header key (named name in
// errors) with the host from X-Forwarded-Host or the subrequest; ok is
// false when the header is absent.
func uriTarget(r *http.Request, key, name string) (t target, ok bool, err error) {
	uri, err := singleHeader(r, key)
	if err != nil || uri == "" {
		return target{}, false, err
	}
	host, err := forwardedHost(r)
	if err != nil {
		return target{}, false, err
	}
	t, err = pathTarget(host, uri, name)
	return t, err == nil, err
}

// originalURLTarget reads X-Original-URL, an absolute URL (ingress-nginx's
// $scheme://$http_host$request_uri).
//
// Its host is the client's Host header ($http_host), not necessarily the
// host nginx routed by: with an absolute-form request line ("GET
// http://a.example.com/x" with "Host: b.example.com") nginx serves a's
// server block. So an X-Forwarded-Host, which the documented ingress-nginx
// set-up sets to $host, must name the same host. And since $request_uri
// always starts with "/", a URL without a path right after its host is a
// Host header that carried a '?' ("Host: a.example.com?" makes
// "http://a.example.com?/admin"), never a request nginx forwards.
func originalURLTarget(r *http.Request) (target, bool, error) {
	orig, err := singleHeader(r, "X-Original-Url")
	if err != nil || orig == "" {
		return target{}, false, err
	}
	u, err := url.Parse(orig)
	if err != nil || u.User != nil || u.Opaque != "" || u.Fragment != "" || (u.Scheme != "http" && u.Scheme != "https") {
		return target{}, false, badRequest("X-Original-URL is not an absolute http(s) URL", urlCause(err))
	}
	if !strings.HasPrefix(u.EscapedPath(), "/") {
		return target{}, false, badRequest("X-Original-URL has no path after its host", nil)
	}
	host, err := ParseHost(u.Host)
	if err != nil {
		return target{}, false, badRequest("X-Original-URL names an unacceptable host", err)
	}
	if err := sameForwardedHost(r, host); err != nil {
		return target{}, false, err
	}
	t, err := normalTarget(host, policy.RequestPath(u), u.RawQuery)
	return t, err == nil, err
}

// sameForwardedHost checks that X-Forwarded-Host, when present, names host:
// the same name, and the same port when it names one ($host has none).
func sameForwardedHost(r *http.Request, host Host) error {
	v, err := singleHeader(r, "X-Forwarded-Host")
	if err != nil || v == "" {
		return err
	}
	fwd, err := ParseHost(v)
	if err != nil {
		return badRequest("the forwarded host is not acceptable", err)
	}
	if fwd.Name != host.Name || (fwd.Port != "" && fwd.Port != host.Port) {
		return badRequest("X-Original-URL and X-Forwarded-Host name different hosts", nil)
	}
	return nil
}

// forwardedHost is X-Forwarded-Host, else the subrequest's own Host (which
// Caddy and Traefik keep as the original's), parsed by the Host rule.
func forwardedHost(r *http.Request) (Host, error) {
	v, err := singleHeader(r, "X-Forwarded-Host")
	if err != nil {
		return Host{}, err
	}
	if v == "" {
		v = r.Host
	}
	h, err := ParseHost(v)
	if err != nil {
		return Host{}, badRequest("the forwarded host is not acceptable", err)
	}
	return h, nil
}

// pathTarget reads a request-target in origin form ("/p?q").
func pathTarget(host Host, uri, header string) (target, error) {
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Host != "" || u.Scheme != "" || u.Opaque != "" {
		return target{}, badRequest(header+" is not a request path", urlCause(err))
	}
	return normalTarget(host, policy.RequestPath(u), u.RawQuery)
}

func normalTarget(host Host, escaped, query string) (target, error) {
	if escaped == "" {
		escaped = "/"
	}
	if strings.HasPrefix(withoutLeadingDots(escaped), "//") {
		// The front proxy sends the original target to the application,
		// and "//public/admin" is host "public", path "/admin" to a URL
		// parser (WHATWG URL, urlsplit), while it normalises to
		// "/public/admin"; "/.//public/admin" is "//public/admin" once a
		// WHATWG parser has removed its "." segment.
		return target{}, badRequest("the request path starts with \"//\"", nil)
	}
	path, err := policy.Normalize(escaped)
	if err != nil {
		return target{}, badRequest("the request path is not acceptable", err)
	}
	if policy.HasDotDotSegment(escaped) {
		// The front proxy sends the original path to the application,
		// which may not resolve "..": the normalised path would not be
		// what the application acts on.
		return target{}, badRequest("the request path has a \"..\" segment", nil)
	}
	if e := checkQuery(query); e != nil {
		return target{}, e
	}
	return target{host: host, path: path, query: query}, nil
}

// checkPathRewrite refuses an original request, named to forward-auth,
// that carries a header with which an application replaces or strips the
// path it routes by (X-Rewrite-URL, X-Script-Name, Script-Name, Path-Info;
// proxy mode removes them, alwaysScrubbed): the front proxy passes it to
// the application, which would route "/public/admin" with
// "X-Script-Name: /public" as "/admin". Their '_' and '.' spellings are
// refused by checkIdentitySpellings.
func checkPathRewrite(hdr http.Header) *httpError {
	for k := range hdr {
		for _, f := range [...]string{"x-rewrite-url", "x-script-name", "script-name", "path-info"} {
			if len(k) == len(f) && foldEqual(k, f) {
				return badRequest("the original request carries a header that rewrites its path", nil)
			}
		}
	}
	return nil
}

// withoutLeadingDots is escaped without its leading "." segments ("/." or
// "/%2e" followed by "/"), as a WHATWG URL parser removes them.
func withoutLeadingDots(escaped string) string {
	for {
		rest, ok := "", false
		for _, dot := range [...]string{"/.", "/%2e", "/%2E"} {
			if r, found := strings.CutPrefix(escaped, dot); found && strings.HasPrefix(r, "/") {
				rest, ok = r, true
			}
		}
		if !ok {
			return escaped
		}
		escaped = rest
	}
}

// checkH2CUpgrade refuses an original request that asks to upgrade to h2c,
// which proxy mode removes (scrubHeaders): a front proxy that forwards
// upgrades (Caddy, Traefik, ingress-nginx) passes it on, and an
// application that speaks h2c answers 101 and then serves every HTTP/2
// request the client sends through the tunnel, none of them decided.
func checkH2CUpgrade(hdr http.Header) *httpError {
	for _, v := range hdr.Values("Upgrade") {
		if strings.Contains(strings.ToLower(v), "h2c") {
			return badRequest("the original request asks to upgrade to h2c", nil)
		}
	}
	return nil
}

// urlCause is a URL parsing error without the URL, which the log would
// otherwise show, query string and all (a code, a token).
func urlCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// singleHeader returns the one value of header k ("" when absent); two
// values, which a proxy that appends instead of replacing would send, are a
// 400.
func singleHeader(r *http.Request, k string) (string, error) {
	vs := r.Header.Values(k)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", badRequest(k+" is repeated", nil)
}
