package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestSharedCacheFieldsAreAClass: every field a shared cache obeys before
// Cache-Control is removed from an answer made private, kept out of
// history, carrying the gateway's cookie or interim, in any case, without
// allocating; Cache-Control itself and fields about no cache's lifetime
// stay. Only CDN-Cache-Control, Surrogate-Control and X-Accel-Expires were
// removed: Cloudflare's, Vercel's, Netlify's, Akamai's and LiteSpeed's own
// fields passed with the lifetime their CDN stores the answer for.
func TestSharedCacheFieldsAreAClass(t *testing.T) {
	targeted := []string{"Cdn-Cache-Control", "Cloudflare-Cdn-Cache-Control", "Vercel-Cdn-Cache-Control",
		"Netlify-Cdn-Cache-Control", "Akamai-Cache-Control", "X-Litespeed-Cache-Control", "Surrogate-Control",
		"Edge-Control", "X-Accel-Expires", "cloudflare-cdn-cache-control", "EDGE-CONTROL"}
	kept := []string{"Cache-Control", "-Cache-Control", "Expires", "X-Accel-Buffering", "Surrogate-Key", "Vary", "Content-Type"}
	for _, k := range targeted {
		if !sharedCacheField(k) {
			t.Errorf("sharedCacheField(%q) = false", k)
		}
	}
	for _, k := range kept {
		if sharedCacheField(k) {
			t.Errorf("sharedCacheField(%q) = true", k)
		}
	}
	cleaners := map[string]func(http.Header){
		"keepPrivate":      func(h http.Header) { keepPrivate(h, http.Header{}) },
		"keepOutOfHistory": func(h http.Header) { keepOutOfHistory(h, http.Header{}) },
		"unshareable":      unshareable,
		"interimFields":    interimFields,
	}
	for name, clean := range cleaners {
		h := http.Header{}
		for _, k := range targeted {
			h[k] = []string{"max-age=600"}
		}
		h["Content-Type"] = []string{"application/json"}
		clean(h)
		for k := range h {
			if sharedCacheField(k) {
				t.Errorf("%s kept %s", name, k)
			}
		}
		if h.Get("Content-Type") == "" {
			t.Errorf("%s removed Content-Type", name)
		}
	}
	h := http.Header{"Cache-Control": {"max-age=60"}, "Content-Type": {"text/plain"}, "Etag": {`"x"`}}
	if n := testing.AllocsPerRun(100, func() { dropSharedCacheFields(h) }); n != 0 {
		t.Errorf("dropSharedCacheFields allocated %v times", n)
	}
}

// TestIsPageDoesNotAllocate: isPage reads every answer let through for an
// identity, the hot path's.
func TestIsPageDoesNotAllocate(t *testing.T) {
	h := http.Header{"Content-Type": {`application/json; charset="a,b"`, "text/plain, image/png"}}
	if n := testing.AllocsPerRun(100, func() { isPage(h, 200) }); n != 0 {
		t.Errorf("isPage allocated %v times", n)
	}
}

// BenchmarkIsPage: the Content-Types answers let through for an identity
// usually carry, each read once per answer.
func BenchmarkIsPage(b *testing.B) {
	for _, ct := range []string{"text/plain; charset=utf-8", "application/json", "text/html; charset=utf-8", "image/png"} {
		h := http.Header{"Content-Type": {ct}}
		b.Run(ct[:strings.IndexAny(ct+";", ";")], func(b *testing.B) {
			for b.Loop() {
				isPage(h, http.StatusOK)
			}
		})
	}
}

// TestIsTokenIsTchar: a token's bytes are RFC 9110's tchar, listed there
// one by one, and no others (isPage reads a type with a delimiter in it as
// none, which a browser sniffs).
func TestIsTokenIsTchar(t *testing.T) {
	const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := 0; c < 256; c++ {
		if got, want := isToken(string([]byte{byte(c), 'a'})), strings.IndexByte(tchar, byte(c)) >= 0; got != want {
			t.Errorf("isToken(%q + \"a\") = %v, want %v", byte(c), got, want)
		}
	}
	if isToken("") {
		t.Error(`isToken("") = true`)
	}
}
