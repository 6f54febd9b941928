package proxy

import (
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
