package proxy

import (
	"net/http"
	"strings"
)

// clearSiteData is the header a browser obeys to delete what it holds for
// the answer's site (W3C Clear Site Data).
const clearSiteData = "Clear-Site-Data"

// allButCookies is what an upstream's "*" (every type) becomes: the types
// browsers know, cookies excepted.
const allButCookies = `"cache", "storage", "executionContexts", "clientHints"`

// networkErrorLogging is the header of a Network Error Logging policy
// (W3C NEL), in Go's canonical spelling of "NEL".
const networkErrorLogging = "Nel"

// altSvc is the header that names alternative services (RFC 7838), which
// a browser caches for the origin.
const altSvc = "Alt-Svc"

// dropOriginPolicies removes from an upstream's answer (final or interim)
// what would let it steer the browser for the whole origin, beyond the
// answer (docs/requests.md, request hygiene): the "cookies" of its
// Clear-Site-Data, and its NEL policy, which a browser applies to every
// request to the origin (and with include_subdomains to the hosts under
// it): with success_fraction 1 it reported the URL of every request to the
// other applications and to the gateway ({prefix}/callback with its code)
// to the application's collector. Its Alt-Svc too: a browser caches it for
// the origin (for as long as its "ma" says, with persist=1 across network
// changes) and connects there for the gateway's endpoints and every
// application on the host; one application steered those connections, and
// an upstream's own "h3" advertisement described its listener, not the
// gateway's.
func dropOriginPolicies(hdr http.Header) {
	delete(hdr, networkErrorLogging)
	delete(hdr, altSvc)
	dropClearCookies(hdr)
}

// dropClearCookies removes from an upstream's Clear-Site-Data the types
// that delete cookies, "cookies" and "*" (docs/requests.md, cookies an
// upstream cannot set): a browser deletes every cookie of the registrable
// domain for them, the gateway's session with them, so one application
// signed its users out of the gateway and of every other application. "*"
// becomes the other types; anything else than a quoted type name ("cache",
// "storage") is dropped, so that no spelling a browser might read as
// cookies gets through. Several lines become one; none is left when no
// type is.
func dropClearCookies(hdr http.Header) {
	vals := hdr[clearSiteData]
	if vals == nil {
		return // the hot path: a map lookup, no allocation
	}
	var b strings.Builder
	for _, v := range vals {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			if t = clearType(strings.TrimSpace(t)); t == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(t)
		}
	}
	if b.Len() == 0 {
		delete(hdr, clearSiteData)
		return
	}
	hdr[clearSiteData] = []string{b.String()}
}

// clearType is the Clear-Site-Data type t as it may pass: "" for cookies,
// for anything but a quoted name of ASCII letters, and allButCookies for
// "*".
func clearType(t string) string {
	if t == `"*"` {
		return allButCookies
	}
	if len(t) < 3 || t[0] != '"' || t[len(t)-1] != '"' {
		return ""
	}
	name := t[1 : len(t)-1]
	for i := 0; i < len(name); i++ {
		if c := name[i] | 0x20; c < 'a' || c > 'z' {
			return ""
		}
	}
	if strings.EqualFold(name, "cookies") {
		return ""
	}
	return t
}
