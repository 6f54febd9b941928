package proxy

import (
	"net/http"
	"strings"
)

// sharedCacheField reports whether name (any case) is a response field
// that a shared cache obeys instead of Cache-Control: a targeted field of
// RFC 9213, which names its cache and ends in "-Cache-Control"
// (CDN-Cache-Control for every CDN, Cloudflare-CDN-Cache-Control,
// Vercel-CDN-Cache-Control, Netlify-CDN-Cache-Control,
// Akamai-Cache-Control, LiteSpeed's X-LiteSpeed-Cache-Control), or one of
// the fields that came before them (Fastly's and Varnish's
// Surrogate-Control, Akamai's Edge-Control, whose "!no-store" even
// overrides a no-store; nginx's X-Accel-Expires). Each gives the answer a
// lifetime in that cache, which then ignores the gateway's "private":
// a list of the three best known let the others through, and a CDN that
// reads its own name stored a signed-in user's answer for everyone. The
// suffix is the class, so a vendor named after this list is covered too.
func sharedCacheField(name string) bool {
	const suffix = "-cache-control"
	if len(name) > len(suffix) && strings.EqualFold(name[len(name)-len(suffix):], suffix) {
		return true
	}
	for _, f := range untargetedCacheFields {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

// untargetedCacheFields are the shared caches' own lifetime fields whose
// names do not end in "-Cache-Control" (sharedCacheField).
var untargetedCacheFields = [...]string{"Surrogate-Control", "Edge-Control", "X-Accel-Expires"}

// dropSharedCacheFields removes every sharedCacheField from h. It does
// not allocate: it runs on every answer let through for an identity.
func dropSharedCacheFields(h http.Header) {
	for k := range h {
		if sharedCacheField(k) {
			delete(h, k)
		}
	}
}
