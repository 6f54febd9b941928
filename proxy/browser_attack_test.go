package proxy

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
)

// TestIdentityAnswersAreNotSharedCacheable: a shared cache in front of the
// gateway (a CDN, a caching reverse proxy) keys on the URL. An application
// that answers a signed-in user with "public", "s-maxage", a
// CDN-Cache-Control, or only a Last-Modified (heuristic freshness: a static
// file server's default, which CDNs cache by file extension) let that cache
// store the protected answer and hand it to the next client asking for the
// URL, signed in or not, without the request reaching the gateway. An
// answer the gateway let through for an identity is made private (the
// browser may keep it); a public route's answer keeps the upstream's
// caching headers.
func TestIdentityAnswersAreNotSharedCacheable(t *testing.T) {
	headers := map[string]map[string]string{
		"/app/public":   {"Cache-Control": "public, max-age=600"},
		"/app/smaxage":  {"Cache-Control": "max-age=10, s-maxage=600"},
		"/app/cdn":      {"Cache-Control": "no-store", "CDN-Cache-Control": "max-age=600", "Surrogate-Control": "max-age=600"},
		"/app/static":   {"Last-Modified": "Mon, 02 Jan 2006 15:04:05 GMT"},
		"/app/field":    {"Cache-Control": `private="Set-Cookie, X-Y", max-age=600`},
		"/app/quoted":   {"Cache-Control": `no-cache="no-store, private", public, max-age=600`},
		"/app/private":  {"Cache-Control": "max-age=60, private"},
		"/public/asset": {"Cache-Control": "public, max-age=600", "CDN-Cache-Control": "max-age=600"},
	}
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers[r.URL.Path] {
			w.Header().Set(k, v)
		}
		_, _ = w.Write([]byte("report for " + r.Header.Get("X-Forwarded-User")))
	})
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	cookies := f.cookies(t, f.session())

	sharedCacheable := func(h http.Header) string {
		if h.Get("CDN-Cache-Control") != "" || h.Get("Surrogate-Control") != "" {
			return "a CDN-targeted caching header"
		}
		private := false
		for _, d := range cacheDirectives(h.Values("Cache-Control")) {
			name, _, qualified := strings.Cut(d, "=")
			switch strings.ToLower(name) {
			case "public", "s-maxage":
				return "directive " + d
			case "no-store":
				private = true
			case "private":
				private = private || !qualified
			}
		}
		if !private {
			return "no private or no-store: " + strings.Join(h.Values("Cache-Control"), ", ")
		}
		return ""
	}
	for path := range headers {
		if strings.HasPrefix(path, "/public/") {
			continue
		}
		resp := f.do(t, "GET", path, nil, withCookies(cookies))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if why := sharedCacheable(resp.Header); why != "" {
			t.Errorf("GET %s as alice: a shared cache may store the answer (%s)", path, why)
		}
	}
	resp := f.do(t, "GET", "/api/x", nil, withHeader("Authorization", "Bearer tok"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/x with a bearer token = %d", resp.StatusCode)
	}
	resp = f.do(t, "GET", "/app/public", nil, withHeader("Authorization", "Bearer tok"))
	if why := sharedCacheable(resp.Header); resp.StatusCode == http.StatusOK && why != "" {
		t.Errorf("GET /app/public with a bearer token: a shared cache may store the answer (%s)", why)
	}
	// What the application said is kept where it is not about shared caches.
	resp = f.do(t, "GET", "/app/private", nil, withCookies(cookies))
	if got := resp.Header.Get("Cache-Control"); got != "max-age=60, private" {
		t.Errorf("an already private answer's Cache-Control = %q, want it unchanged", got)
	}
	resp = f.do(t, "GET", "/app/smaxage", nil, withCookies(cookies))
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "max-age=10") {
		t.Errorf("Cache-Control = %q, want the browser's max-age=10 kept", got)
	}
	// A public route's answer carries no identity: its caching is the application's.
	resp = f.do(t, "GET", "/public/asset", nil, withCookies(cookies))
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=600" || resp.Header.Get("CDN-Cache-Control") == "" {
		t.Errorf("a public route's caching headers were changed: %v", resp.Header)
	}
}
