// The floods are too slow under the race detector, which also distorts the
// heap they measure; scripts/test.sh runs them without it.

//go:build !race

package proxy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestValueCacheMemoryBounded floods the identity-values cache through the
// function requests fill it with, one identity under 4,000 distinct 40 KB
// hosts (each value also carries an assertion for that host). The live heap
// must stay within twice the cache's byte bound: before the bound, 10,000
// entries of 40 KB hosts held 1.3 GB.
func TestValueCacheMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	f := newFixture(t)
	id := &portcullis.Identity{Subject: "alice", Email: "alice@example.com", EmailVerified: true,
		Groups: []string{"staff"}}
	pad := strings.Repeat("a", 40<<10)
	before := testenv.HeapAfterGC()
	for i := range 4_000 {
		host := fmt.Sprintf("%s%06d.example.com", pad, i)
		if v := f.h.identityValues(id, "access-token", host); v == nil {
			t.Fatal("no values")
		}
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(f.h)
	const ceiling = 2 * valueCacheBytes
	t.Logf("heap grew %d MiB", grown>>20)
	if grown > ceiling {
		t.Errorf("the identity-values cache holds %d MiB after the flood, over %d MiB", grown>>20, ceiling>>20)
	}
}
