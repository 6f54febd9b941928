package session

import (
	"crypto/rand"
	"encoding/base64"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestCookieCacheMemoryBounded floods the opened-session cache through
// Save, which fills it, with 8,000 distinct sessions carrying about 12 KB of
// incompressible tokens each (sealed cookies of about 16 KB). The live heap
// must stay within twice the cache's byte bound; bounded by entries alone
// (10,000) the same flood held about 250 MB.
func TestCookieCacheMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	pad := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	at, idt := pad(4500), pad(4500)
	before := testenv.HeapAfterGC()
	for i := range 8_000 {
		n := strconv.Itoa(i)
		s := &Session{Identity: portcullis.Identity{Subject: "user" + n}, AccessToken: at + n, IDToken: idt + n,
			CreatedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)}
		saveCookies(t, store, nil, s)
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(store)
	const ceiling = 2 * cacheBytes
	t.Logf("heap grew %d MiB", grown>>20)
	if grown > ceiling {
		t.Errorf("the opened-session cache holds %d MiB after the flood, over %d MiB", grown>>20, ceiling>>20)
	}
}
