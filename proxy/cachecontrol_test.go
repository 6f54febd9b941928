package proxy

import (
	"net/http"
	"net/textproto"
	"strings"
	"testing"
)

// The targeted caching headers are removed with a plain delete, which
// finds only the canonical form the server and the transport store.
func TestTargetedCacheControlIsCanonical(t *testing.T) {
	for _, k := range targetedCacheControl {
		if c := textproto.CanonicalMIMEHeaderKey(k); c != k {
			t.Errorf("targetedCacheControl has %q, want its canonical form %q", k, c)
		}
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
