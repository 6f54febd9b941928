package proxy

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/policy"
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
	if q.method, err = forwardedMethod(r); err != nil {
		return q, "", err
	}
	if err = checkSubrequestHeaders(r.Header); err != nil {
		return q, "", err
	}
	t, err := namedTarget(r)
	if err != nil {
		return q, "", err
	}
	if err = sameHostHeader(r, upstreamHostHeader, t.host, upstreamHostDiffers); err != nil {
		return q, "", err
	}
	q.host, q.path = t.host, t.path
	return q, t.query, nil
}

// upstreamHostHeader names the Host a front proxy sends the app when it may
// differ from the one it routes by: ingress-nginx with
// use-forwarded-headers sends the app its $best_http_host, a client's
// X-Forwarded-Host passed on by a load balancer, and the documented
// auth-proxy-set-headers send it here. Absent, nothing is checked.
const upstreamHostHeader = "X-Portcullis-Upstream-Host"

const upstreamHostDiffers = "X-Portcullis-Upstream-Host names another host than the one decided"

// forwardedMethod reads the original request's method from
// X-Forwarded-Method or X-Original-Method, which must agree, and checks it
// as the entry checks check a request's own: "" when neither names one.
func forwardedMethod(r *http.Request) (string, error) {
	m1, err := singleHeader(r, "X-Forwarded-Method")
	if err != nil {
		return "", err
	}
	m2, err := singleHeader(r, "X-Original-Method")
	if err != nil {
		return "", err
	}
	if m1 != "" && m2 != "" && m1 != m2 {
		return "", badRequest("X-Forwarded-Method and X-Original-Method name different methods", nil)
	}
	method := cmp.Or(m1, m2)
	if method != "" && !policy.ValidMethod(method) {
		return "", badRequest("the forwarded method is not an upper-case method name", nil)
	}
	if method != "" && r.Method != http.MethodGet && r.Method != method {
		// A subrequest sent with another method than GET carries the
		// original's (Envoy's ext_authz); nginx, Caddy and Traefik send
		// GET whatever the original was, so only then can the gateway
		// tell a client's own X-Forwarded-Method from the proxy's.
		return "", badRequest("the subrequest's method and the forwarded method differ", nil)
	}
	if e := checkMethod(method); e != nil {
		return "", e
	}
	return method, nil
}

// checkSubrequestHeaders refuses the headers proxy mode refuses on a
// request of its own: a method override, a path rewrite, an h2c upgrade.
// Each returns a typed nil when it passes, hence the checks one by one.
func checkSubrequestHeaders(hdr http.Header) error {
	if e := checkMethodOverride(hdr); e != nil {
		return e
	}
	if e := checkPathRewrite(hdr); e != nil {
		return e
	}
	if e := checkH2CUpgrade(hdr); e != nil {
		return e
	}
	return nil
}

// namedTarget reads the original request's host, path and query from every
// set of forwarded headers present, which must all name the same request.
func namedTarget(r *http.Request) (target, error) {
	named := make([]target, 0, 3)
	for _, src := range [...]func(*http.Request) (target, bool, error){
		forwardedTarget, originalURLTarget, originalURITarget,
	} {
		t, ok, err := src(r)
		if err != nil {
			return target{}, err
		}
		if ok {
			named = append(named, t)
		}
	}
	if len(named) == 0 {
		return target{}, badRequest("the original request is not named (X-Forwarded-Uri or X-Original-URL)", nil)
	}
	first := named[0]
	for _, t := range named[1:] {
		if t.host != first.host || t.path != first.path || t.query != first.query {
			return target{}, badRequest("the forwarded headers name different requests", nil)
		}
	}
	return first, nil
}

// checkSubrequestHost refuses a subrequest whose own Host names a host the
// gateway serves applications on (a host a route names, one
// allowed_redirect_hosts lists at its port, as routes without a host serve
// it, or public_url's at its port when the Host names one, if no
// allowed_redirect_hosts make it a sign-in host apart from the apps) other
// than the original request's.
// Caddy and Envoy keep the original Host on the subrequest, and an nginx
// auth location with "Host $host" (oauth2-proxy's) sets it; the documented
// snippets that set X-Forwarded-Host otherwise reach the gateway at its own
// address. Such a Host is the original's, and an X-Forwarded-Host (or
// X-Original-URL) naming another is the client's own, passed through. A
// sign-in host of its own (public_url auth.example.com, the apps elsewhere)
// is left out unless a route names it: front proxies are often pointed at
// the gateway through it.
func (h *Handler) checkSubrequestHost(r *http.Request, orig Host) error {
	sub, err := policy.ParseHost(r.Host)
	if err != nil {
		// The entry checks refuse such a Host first (requestHost); not
		// parsed, it could name any host, so it is no reason to pass.
		return badRequest("the request's Host is not acceptable", err)
	}
	if sub.Name == orig.Name {
		return nil
	}
	onPublic := sub.Name == h.public.Name && (sub.Port == "" ||
		effectivePort(h.cfg.PublicURL.Scheme, sub.Port) == effectivePort(h.cfg.PublicURL.Scheme, h.public.Port))
	if onPublic && len(h.cfg.AllowedRedirectHosts) > 0 {
		// A sign-in host of its own: an app host only when a route names
		// it by name, not when a wildcard route for the apps beside it
		// (*.example.com) happens to cover it. Its name at another port
		// (an app at localhost:3000 beside a gateway at localhost:4180)
		// is decided below, as any other host.
		if h.cfg.Routes.NamesHostExactly(sub.Name) {
			return badRequest(subrequestHostDiffers, nil)
		}
		return nil
	}
	if onPublic || h.cfg.Routes.NamesHost(sub.Name) || h.redirects.namesHost(sub.Name, sub.Port) {
		return badRequest(subrequestHostDiffers, nil)
	}
	return nil
}

const subrequestHostDiffers = "the subrequest's Host names an application host other than the forwarded one (point the front proxy at the gateway's own address)"

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
	// Any "#", an empty fragment's too ("http://h/x#", "http://h/x?#"):
	// url.Parse drops it without a trace, while the front proxy sends the
	// app the target with it, which the same request in proxy mode or in
	// X-Forwarded-Uri is refused for (checkTarget, Normalize).
	if err != nil || u.User != nil || u.Opaque != "" || strings.Contains(orig, "#") || (u.Scheme != "http" && u.Scheme != "https") {
		return target{}, false, badRequest("X-Original-URL is not an absolute http(s) URL", urlCause(err))
	}
	if !strings.HasPrefix(u.EscapedPath(), "/") {
		return target{}, false, badRequest("X-Original-URL has no path after its host", nil)
	}
	host, err := policy.ParseHost(u.Host)
	if err != nil {
		return target{}, false, badRequest("X-Original-URL names an unacceptable host", err)
	}
	if err := sameHostHeader(r, "X-Forwarded-Host", host, "X-Original-URL and X-Forwarded-Host name different hosts"); err != nil {
		return target{}, false, err
	}
	t, err := normalTarget(host, policy.RequestPath(u), u.RawQuery)
	return t, err == nil, err
}

// sameHostHeader checks that the header key (X-Forwarded-Host,
// X-Portcullis-Upstream-Host), when present, names host: the same name, and
// the same port when it names one ($host has none); else it is refused with
// differs.
func sameHostHeader(r *http.Request, key string, host Host, differs string) error {
	v, err := singleHeader(r, key)
	if err != nil || v == "" {
		return err
	}
	fwd, err := policy.ParseHost(v)
	if err != nil {
		return badRequest("the forwarded host is not acceptable", err)
	}
	if fwd.Name != host.Name || (fwd.Port != "" && fwd.Port != host.Port) {
		return badRequest(differs, nil)
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
	h, err := policy.ParseHost(v)
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
