package proxy

import (
	"net/http"
	"net/textproto"
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
