package proxy

import (
	"net/http"
	"net/textproto"
	"strings"
)

// forwardedMethods is the Allow header of a 405 for a method the gateway
// never forwards (RFC 9110 §15.5.6): the methods a route may allow.
const forwardedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

// checkTarget refuses, before routing, the request lines that cannot be
// forwarded as they were authorized (docs/requests.md, request hygiene):
//
//   - CONNECT asks for a tunnel: its authority-form target has no path to
//     match, and bytes tunnelled past the gateway escape every check; the
//     reverse proxy cannot carry it anyway;
//   - TRACE (and TRACK, its IIS spelling) makes an upstream echo the
//     request it received, identity headers, assertion and a configured
//     access-token header included, back to the client;
//   - a raw "#" in the query: a request-target has no fragment (RFC 9112
//     §3.2), and upstreams disagree on whether the query ends there, so the
//     query the gateway saw (and refused access_token in) would not be the
//     one the upstream reads. An encoded "%23" passes. So does a raw space
//     or other byte a request line cannot carry (checkQuery);
//   - a target that is not a path ("/p") or an absolute URL with a host
//     ("http://h/p"): "x:admin/secret" parses with an empty path, which
//     would be decided as "/", and an opaque part the transport would send
//     upstream as the request line ("GET admin/secret"), unnormalised;
//   - an absolute-form target whose authority breaks the Host rule as
//     forward-auth's X-Original-URL may not (originalURLTarget): userinfo
//     ("http://other.test@gw.test/"), which Go's server drops, so the
//     gateway decides gw.test while a front proxy, WAF or log that reads
//     the authority up to its '@' sees other.test (RFC 9110 §4.2.4: treat
//     it as an error), or a scheme other than http and https.
func checkTarget(r *http.Request) *httpError {
	if e := checkMethod(r.Method); e != nil {
		return e
	}
	if r.URL.Opaque != "" || (r.URL.Scheme != "" && r.URL.Host == "") {
		return badRequest("the request target is not a path", nil)
	}
	if r.URL.User != nil || (r.URL.Scheme != "" && r.URL.Scheme != "http" && r.URL.Scheme != "https") {
		return badRequest("the request target is not an http(s) URL without userinfo", nil)
	}
	if r.URL.Fragment != "" {
		return badRequest("the request target carries a raw \"#\"", nil)
	}
	return checkQuery(r.URL.RawQuery)
}

// checkMethod refuses CONNECT, TRACE and TRACK (checkTarget), for the
// request itself and for the original request named to forward-auth.
func checkMethod(m string) *httpError {
	switch m {
	case http.MethodConnect, http.MethodTrace, "TRACK":
		return &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			title: "Method not allowed", reason: "the gateway does not forward this method",
			allow: forwardedMethods, kind: outcomeBadRequest}
	}
	return nil
}

// checkQuery refuses a raw "#" in a raw query (checkTarget), and a raw
// space or control byte. The query goes upstream as it came, in the request
// line, where a space ends the target: HTTP/1.1 cannot carry one (Go's
// server refuses it), but an HTTP/2 :path, forward-auth's X-Forwarded-Uri
// and X-Original-URI can, and the application (or a front proxy's request
// to it) then reads "GET /public/x?a /admin HTTP/1.1" as it likes, a query
// and a version the gateway never decided. The path's space is sent on as
// the "%20" decided; the query is not rewritten, so it is refused, in
// every mode alike. It allocates nothing.
func checkQuery(rawQuery string) *httpError {
	for i := 0; i < len(rawQuery); i++ {
		switch c := rawQuery[i]; {
		case c == '#':
			return badRequest("the request target carries a raw \"#\"", nil)
		case c <= ' ' || c == 0x7f:
			return badRequest("the request target's query carries a raw space or control character", nil)
		}
	}
	return nil
}

// checkMethodOverride refuses an original request, named to forward-auth,
// that carries a method-override header (X-HTTP-Method-Override,
// X-HTTP-Method, X-Method-Override) in any spelling: the front proxy passes
// it to the application, which may act on the method it names (POST
// authorized, DELETE performed), and the gateway cannot remove it there as
// proxy mode does.
func checkMethodOverride(hdr http.Header) *httpError {
	for k := range hdr {
		for _, f := range [...]string{"x-http-method-override", "x-http-method", "x-method-override"} {
			if len(k) == len(f) && foldEqual(k, f) {
				return badRequest("the original request carries a method-override header", nil)
			}
		}
	}
	return nil
}

// Header limits of request hygiene (docs/requests.md).
const (
	maxCookieBytes = 16 << 10
	maxHeaderBytes = 32 << 10
)

// checkHeaders refuses the request lines checkTarget refuses and enforces
// the header limits (checkHeaderSize). A 431 also expires every login-state
// cookie of the gateway the request carries, so that however many logins a
// page started, the browser gets 431 for one request at most
// (docs/requests.md, request hygiene).
func (h *Handler) checkHeaders(ex *exchange, r *http.Request) error {
	if e := checkTarget(r); e != nil {
		return e
	}
	if e := checkContentLengths(r.Header); e != nil {
		return e
	}
	err := checkHeaderSize(r.Header)
	if err != nil {
		h.cfg.LoginStates.ClearAll(ex, r)
	}
	return err
}

// checkContentLengths refuses a request with two different Content-Length
// fields (400), as Go's HTTP/1.1 server does (RFC 9112 §6.3). Over HTTP/2
// Go's server took the first to frame the body and kept both: a proxy in
// front or an application reading the other saw another body. Equal ones
// are one length. One map lookup on the hot path.
func checkContentLengths(hdr http.Header) error {
	cls := hdr["Content-Length"]
	for _, v := range cls[min(1, len(cls)):] {
		if textproto.TrimString(v) != textproto.TrimString(cls[0]) {
			return badRequest("the request has two different Content-Length fields", nil)
		}
	}
	return nil
}

// checkHeaderSize enforces the header limits of request hygiene: a Cookie header
// over 16 KiB, or request headers over 32 KiB in all, get 431.
func checkHeaderSize(hdr http.Header) error {
	total, cookies := 0, 0
	for k, vs := range hdr {
		for _, v := range vs {
			total += len(k) + len(v) + 4
			if k == "Cookie" {
				cookies += len(v)
			}
		}
	}
	if cookies > maxCookieBytes || total > maxHeaderBytes {
		return headersTooLarge()
	}
	return nil
}

// dropConnectionOptions removes the headers a client names in Connection
// (RFC 9110 §7.6.1) before the request is decided. httputil.ReverseProxy
// removes them before forwarding, so the decision must not read them:
// "Connection: Content-Type" on a text/plain POST would otherwise reach
// the upstream as an untyped POST, which Rack parses as a form (_method,
// access_token) that the gateway never read. Upgrade and TE are left to
// ReverseProxy, which forwards a WebSocket upgrade and "TE: trailers".
func dropConnectionOptions(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			name = textproto.TrimString(name)
			switch {
			case name == "", strings.EqualFold(name, "Connection"), strings.EqualFold(name, "Upgrade"),
				strings.EqualFold(name, "TE"):
				continue
			}
			h.Del(name)
		}
	}
}
