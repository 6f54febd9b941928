package proxy

import (
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/internal/logattr"
)

// stripOwnCookies removes the gateway's session and login-state cookies
// from the outbound Cookie header(s), keeping the others in order as one
// header. hdr is the outbound request's own copy, so the usual case costs
// one allocation (the new value) and a request without the gateway's
// cookies none.
func (h *Handler) stripOwnCookies(hdr http.Header) {
	vals := hdr["Cookie"]
	kept, same := h.withoutOwnCookies(vals)
	switch {
	case same:
	case kept == "":
		delete(hdr, "Cookie")
	default:
		vals[0] = kept
		hdr["Cookie"] = vals[:1]
	}
}

// setAuthCookies puts on an allowed forward-auth answer, as its Cookie
// header, the request's cookies but the gateway's (vals, the subrequest's
// Cookie lines), which the documented front proxies set on the request to
// the app in place of the browser's: without it every app held each
// user's session cookie, valid on every app the gateway serves. The answer
// has no Cookie header when none is left, so that Traefik and
// ingress-nginx, which remove the request's own and copy the answer's,
// send none; Envoy, which keeps the request's own then, is told to remove
// it (envoyRemove). Several lines become one: nginx's variable and Caddy's
// placeholder would join them with ",". A line without a gateway cookie is
// shared with the request, a run of it kept in ex's own array: no
// allocation but for cookies interleaved with the gateway's or several
// lines.
func (h *Handler) setAuthCookies(ex *exchange, vals []string) {
	kept, same := h.withoutOwnCookies(vals)
	switch {
	case same && len(vals) == 1 && strings.TrimSpace(vals[0]) != "":
		ex.Header()["Cookie"] = vals[:1:1]
	case kept != "":
		ex.authCookie[0] = kept
		ex.Header()["Cookie"] = ex.authCookie[:1:1]
	case len(vals) > 0:
		ex.Header()[envoyRemove] = removeCookie[:1:1]
	}
}

// envoyRemove names, on an allowed answer to Envoy's ext_authz (HTTP
// service), the request headers Envoy removes before the app gets the
// request; removeCookie is its value when no cookie is left for the app.
const envoyRemove = "X-Envoy-Auth-Headers-To-Remove"

var removeCookie = []string{"cookie"}

// withoutOwnCookies returns the cookies of the Cookie header values vals
// but the gateway's, in order, as one value ("" when none is left). same
// reports that vals is that already: no line or one line without a
// gateway cookie. It allocates only when a gateway cookie sits between two
// others or there are several lines; it never writes into vals.
func (h *Handler) withoutOwnCookies(vals []string) (kept string, same bool) {
	if len(vals) == 0 || (len(vals) == 1 && !h.hasOwnCookie(vals[0])) {
		return "", true
	}
	if len(vals) == 1 {
		if kept, ok := h.keptRun(vals[0]); ok {
			return kept, false
		}
	}
	n := 0
	for _, v := range vals {
		n += len(v) + 2
	}
	var b strings.Builder
	b.Grow(n)
	for _, v := range vals {
		for v != "" {
			var part string
			part, v, _ = strings.Cut(v, ";")
			part = strings.TrimSpace(part)
			if part == "" || h.ownsCookie(cookieName(part)) {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(part)
		}
	}
	return b.String(), false
}

// keptRun returns the part of the Cookie header value v that holds every
// cookie but the gateway's, when those cookies are one run of v (the
// gateway's are all before or after them, the usual case): a substring,
// without allocating. ok is false when a gateway cookie sits between two
// others.
func (h *Handler) keptRun(v string) (kept string, ok bool) {
	start, end, ownAfterKept := -1, -1, false
	for off := 0; off <= len(v); {
		partEnd := len(v)
		if i := strings.IndexByte(v[off:], ';'); i >= 0 {
			partEnd = off + i
		}
		part := strings.TrimSpace(v[off:partEnd])
		switch {
		case part == "":
		case h.ownsCookie(cookieName(part)):
			ownAfterKept = start >= 0
		case ownAfterKept:
			return "", false
		default:
			if start < 0 {
				start = off + strings.Index(v[off:partEnd], part)
			}
			end = off + strings.Index(v[off:partEnd], part) + len(part)
		}
		off = partEnd + 1
	}
	if start < 0 {
		return "", true
	}
	return v[start:end], true
}

// hasOwnCookie reports whether the Cookie header value v holds one of the
// gateway's cookies.
func (h *Handler) hasOwnCookie(v string) bool {
	for v != "" {
		var part string
		part, v, _ = strings.Cut(v, ";")
		if h.ownsCookie(cookieName(strings.TrimSpace(part))) {
			return true
		}
	}
	return false
}

// cookieName is the name of one "name=value" pair of a Cookie header.
func cookieName(pair string) string {
	name, _, _ := strings.Cut(pair, "=")
	return strings.TrimSpace(name)
}

func (h *Handler) ownsCookie(name string) bool {
	return h.cfg.Sessions.Owns(name) || h.states.Owns(name)
}

// dropOwnSetCookies removes from an upstream's response every Set-Cookie
// for a cookie the gateway owns (docs/requests.md, request hygiene): one
// application behind the gateway must not plant a session, or wipe it, for
// every other one. Names compare case-sensitively, as browsers compare them
// (RFC 6265 §5.3); the cookie-name prefixes __Host- and __Secure-, which
// browsers recognise in any case (RFC 6265bis §4.1.3), are looked through,
// so no prefixed or unprefixed variant of a gateway cookie gets through.
func (h *Handler) dropOwnSetCookies(resp *http.Response) error {
	vals := resp.Header["Set-Cookie"]
	if len(vals) == 0 {
		return nil
	}
	kept := make([]string, 0, len(vals))
	var first string
	for _, v := range vals {
		name, bare := setCookieName(v)
		if h.ownsCookieVariant(name) || (bare != "" && h.ownsCookieVariant(bare)) {
			if first == "" {
				first = name + bare
			}
			continue
		}
		kept = append(kept, v)
	}
	if n := len(vals) - len(kept); n > 0 {
		// One line per answer, with the count: an answer's header block
		// holds some 10,000 Set-Cookie fields, and a line for each let one
		// answer write 1.5 MB of log.
		h.log.Info("proxy: dropped an upstream's Set-Cookie for a gateway cookie",
			"upstream_host", resp.Request.URL.Host, "cookie", logattr.Value(first, 64), "count", n)
	}
	if len(kept) == 0 {
		delete(resp.Header, "Set-Cookie")
	} else {
		resp.Header["Set-Cookie"] = kept
	}
	return nil
}

// setCookieName returns the cookie name of a Set-Cookie value as a browser
// reads it (RFC 6265bis §5.6: up to the first ";" and "=", whitespace
// trimmed). A pair without "=", or with nothing before its first "="
// ("=portcullis=x"), sets a cookie with an empty name whose value a Cookie
// header then carries alone, where a server reads the value's own name
// ("portcullis"): that name is returned as bare. Chromium refuses a nameless
// value with "=" in it; the algorithm, and browsers that follow it, do not.
func setCookieName(v string) (name, bare string) {
	pair, _, _ := strings.Cut(v, ";")
	n, val, ok := strings.Cut(pair, "=")
	if !ok {
		n, val = "", pair
	}
	if n = strings.Trim(n, " \t"); n != "" {
		return n, ""
	}
	bare, _, _ = strings.Cut(val, "=")
	return "", strings.Trim(bare, " \t")
}

// ownsCookieVariant reports whether name, or name with its __Host- or
// __Secure- prefix (any case) exchanged for another or removed, is a
// gateway cookie.
func (h *Handler) ownsCookieVariant(name string) bool {
	if name == "" {
		return false
	}
	if h.ownsCookie(name) {
		return true
	}
	prefixes := [...]string{"__Host-", "__Secure-"}
	rest := name
	for _, p := range prefixes {
		if len(name) > len(p) && strings.EqualFold(name[:len(p)], p) {
			rest = name[len(p):]
			break
		}
	}
	if rest != name && h.ownsCookie(rest) {
		return true
	}
	for _, p := range prefixes {
		if h.ownsCookie(p + rest) {
			return true
		}
	}
	return false
}
