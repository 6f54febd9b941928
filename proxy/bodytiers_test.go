package proxy

import (
	"bytes"
	"testing"
)

// TestBodyBufferGrowsWithBody: a pre-read body is held in a buffer at most
// twice what arrived (4 KiB at least; the last tier's extra byte aside),
// and keeps every byte across the
// tiers, up to preReadLimit and the one byte past it.
func TestBodyBufferGrowsWithBody(t *testing.T) {
	pool := &bodyPool{}
	for _, n := range []int{0, 1, smallBodySize, smallBodySize + 1, 8<<10 + 1, 32 << 10, 32<<10 + 1, preReadLimit, preReadLimit + 1, preReadLimit + 100} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		b := &forwardBody{pool: pool}
		if err := b.fill(bytes.NewReader(src)); err != nil {
			t.Fatal(err)
		}
		want := src[:min(n, preReadLimit+1)]
		if !bytes.Equal(b.data, want) {
			t.Errorf("%d bytes: %d pre-read, not the body's first %d", n, len(b.data), len(want))
		}
		if held := len(*b.buf); held > max(2*len(want)+1, smallBodySize) {
			t.Errorf("%d bytes: a %d-byte buffer, over twice what arrived", n, held)
		}
		b.release()
	}
}
