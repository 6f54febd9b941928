package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// vendorCacheFields are freshness lifetimes an application can give its
// answer for one shared cache only, each obeyed by that cache instead of
// Cache-Control (RFC 9213's targeted fields and their forerunners):
// Cloudflare, Vercel, Netlify, Akamai (twice), LiteSpeed.
var vendorCacheFields = map[string]string{
	"Cloudflare-CDN-Cache-Control": "max-age=600",
	"Vercel-CDN-Cache-Control":     "max-age=600",
	"Netlify-CDN-Cache-Control":    "public, max-age=600",
	"Akamai-Cache-Control":         "max-age=600",
	"Edge-Control":                 "!no-store, max-age=600",
	"X-LiteSpeed-Cache-Control":    "public, max-age=600",
}

// TestVendorCacheLifetimesNeverLeaveWithAnIdentity: an answer the gateway
// let through for a session is made private, and the fields a shared
// cache obeys before Cache-Control were removed, but only
// CDN-Cache-Control, Surrogate-Control and X-Accel-Expires. Cloudflare
// obeys Cloudflare-CDN-Cache-Control and ignores Cache-Control (and Vary)
// when it is there, Vercel and Netlify their own, Akamai Edge-Control
// (whose "!no-store" overrides a no-store): a signed-in user's answer
// left the gateway with the 10 minutes such a CDN in front of it stores
// it for, and hands it to whoever asks for the URL. A page, a JSON answer
// and a trailer must carry none of them; a public route's answer keeps
// them, as it keeps its Cache-Control.
func TestVendorCacheLifetimesNeverLeaveWithAnIdentity(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := vendorCacheUpstream(t)
	routes := "[[routes]]\npath = \"/pub/**\"\npublic = true\n[[routes]]\npath = \"/**\"\n"
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up, "", routes))
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/page"); status != 200 || !strings.Contains(body, "alice") {
		t.Fatalf("sign-in: %d %q\n%s", status, body, gw.Proc.Output())
	}
	for _, path := range []string{"/page", "/data", "/trailer"} {
		resp, err := c.Get(gw.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body) // the trailers come after the body
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s as alice = %d", path, resp.StatusCode)
		}
		for k := range vendorCacheFields {
			if v := resp.Header.Get(k); v != "" {
				t.Errorf("GET %s as alice: %s: %s reached the client, which that CDN obeys before Cache-Control %q",
					path, k, v, resp.Header.Get("Cache-Control"))
			}
			if v := resp.Trailer.Get(k); v != "" {
				t.Errorf("GET %s as alice: trailer %s: %s reached the client", path, k, v)
			}
		}
	}
	resp, err := plainClient.Get(gw.URL + "/pub/data")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, v := range vendorCacheFields {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("GET /pub/data (a public route): %s = %q, want the application's %q", k, got, v)
		}
	}
}

// vendorCacheUpstream is an application that gives every answer each of
// vendorCacheFields: /page an HTML page, /trailer JSON with them as
// unannounced trailers, anything else JSON.
func vendorCacheUpstream(t *testing.T) string {
	up := newUpstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		prefix := ""
		if r.URL.Path == "/trailer" {
			prefix = http.TrailerPrefix
		}
		for k, v := range vendorCacheFields {
			w.Header().Set(prefix+k, v)
		}
		if r.URL.Path == "/page" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<!doctype html><p>hello "+r.Header.Get("X-Forwarded-User"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"user":"`+r.Header.Get("X-Forwarded-User")+`"}`)
	})
	return up.URL
}
