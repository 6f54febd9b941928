// The floods are too slow under the race detector, which also distorts the
// heap they measure; scripts/test.sh runs them without it.

//go:build !race

package proxy

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// TestValueCacheMemoryBounded floods the identity-values cache through the
// function requests fill it with: 4,000 distinct identities (as many bearer
// tokens would bring) each in a 40 KB group, so every entry keeps a 40 KB
// identity alive and holds a 40 KB header value and an assertion. The live
// heap must stay within twice the cache's byte bound; bounded by entries
// alone, 10,000 entries keyed on 40 KB Hosts held 1.3 GB.
func TestValueCacheMemoryBounded(t *testing.T) {
	f := floodFixture(t)
	pad := strings.Repeat("g", 40<<10)
	grown := heapGrowth(f, func() {
		for i := range 4_000 {
			id := &portcullis.Identity{Subject: fmt.Sprintf("user%06d", i), Groups: []string{pad + strconv.Itoa(i)}}
			if v := f.h.identityValues(id, "access-token", "gw.test", time.Time{}); v == nil {
				t.Fatal("no values")
			}
		}
	})
	const ceiling = 2 * valueCacheBytes
	t.Logf("heap grew %d MiB", grown>>20)
	if grown > ceiling {
		t.Errorf("the identity-values cache holds %d MiB after the flood, over %d MiB", grown>>20, ceiling>>20)
	}
}

// TestRecentRefreshMemoryBounded floods the recent-refresh memory through
// remember (what a completed refresh calls) with 20,000 sessions carrying
// 12 KB of tokens each within its 30 s window. The live heap must stay
// within twice its byte bound; bounded by time alone it would hold them all
// (about 240 MB).
func TestRecentRefreshMemoryBounded(t *testing.T) {
	f := floodFixture(t)
	pad := strings.Repeat("r", 6<<10)
	grown := heapGrowth(f, func() {
		for i := range 20_000 {
			n := strconv.Itoa(i)
			s := &session.Session{ID: "sid" + n, AccessToken: pad + n, RefreshToken: pad + n}
			f.h.refresher.remember(s.ID, "previous-at", s, f.h.now)
		}
	})
	t.Logf("heap grew %d MiB", grown>>20)
	if grown > 2*recentRefreshBytes {
		t.Errorf("the recent-refresh memory holds %d MiB after the flood, over %d MiB", grown>>20, 2*recentRefreshBytes>>20)
	}
}

// TestRotationLinksMemoryBounded floods the rotation links (refresher.rotated)
// with 30,000 rotations of 6 KB refresh tokens: only the tokens' digests are
// kept, at most rotationLinks of them.
func TestRotationLinksMemoryBounded(t *testing.T) {
	f := floodFixture(t)
	pad := strings.Repeat("r", 6<<10)
	grown := heapGrowth(f, func() {
		for i := range 30_000 {
			f.h.refresher.rotated(pad+strconv.Itoa(i), pad+strconv.Itoa(i+1))
		}
	})
	t.Logf("heap grew %d KiB, %d links", grown>>10, f.h.refresher.links.Len())
	if n := f.h.refresher.links.Len(); n > rotationLinks {
		t.Errorf("%d rotation links kept, over %d", n, rotationLinks)
	}
	if limit := int64(8 << 20); grown > limit {
		t.Errorf("the rotation links hold %d MiB after the flood, over %d MiB", grown>>20, limit>>20)
	}
}

// TestIdentityValuesHeap measures what the identity-values cache holds per
// identity (the header values and the signed assertion, the cache's slot
// included) for 10,000 identities like a directory's users, the load
// benchmark's many-sessions mix, all for one application's audience. The
// identities are the sessions' and are not counted. 1,075 bytes with a
// slice per header, about 945 with a copy of the audience per identity and the
// renewal time as a time.Time, 907 with a copy of the groups value each.
func TestIdentityValuesHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a cache")
	}
	f := newFixture(t)
	const n = 10_000
	ids := make([]*portcullis.Identity, n)
	for i := range ids {
		u := fmt.Sprintf("user%05d", i)
		ids[i] = &portcullis.Identity{Subject: u, Email: u + "@example.com", EmailVerified: true,
			PreferredUsername: u, Issuer: "https://idp.example.com",
			Groups: []string{"engineering", "staff", "vpn-users"}}
	}
	before := testenv.HeapAfterGC()
	for _, id := range ids {
		if v := f.h.identityValues(id, "", "app.example.com:8443", time.Time{}); v.vals[slotAssertion] == "" {
			t.Fatal("no assertion")
		}
	}
	per := (testenv.HeapAfterGC() - before) / n
	runtime.KeepAlive(f.h)
	runtime.KeepAlive(ids)
	t.Logf("%d bytes per identity", per)
	if per > 895 {
		t.Errorf("%d bytes per cached identity, want at most 895", per)
	}
}

// TestDeadRefreshTokensMemoryBounded floods the dead refresh tokens
// (refresher.markDead) with 30,000 refused 6 KB refresh tokens: only their
// digests are kept, at most deadRefreshTokens of them.
func TestDeadRefreshTokensMemoryBounded(t *testing.T) {
	f := floodFixture(t)
	pad := strings.Repeat("r", 6<<10)
	grown := heapGrowth(f, func() {
		for i := range 30_000 {
			f.h.refresher.markDead(pad + strconv.Itoa(i))
		}
	})
	t.Logf("heap grew %d KiB, %d dead tokens", grown>>10, f.h.refresher.killed.Len())
	if n := f.h.refresher.killed.Len(); n > deadRefreshTokens {
		t.Errorf("%d dead refresh tokens kept, over %d", n, deadRefreshTokens)
	}
	if limit := int64(8 << 20); grown > limit {
		t.Errorf("the dead refresh tokens hold %d MiB after the flood, over %d MiB", grown>>20, limit>>20)
	}
}

// floodFixture is the fixture of a test that floods a cache, skipped by
// -short.
func floodFixture(t *testing.T) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("floods a cache")
	}
	return newFixture(t)
}

// heapGrowth is how far the live heap grew while fill ran, f's handler (and
// so its caches) kept alive to the end.
func heapGrowth(f *fixture, fill func()) int64 {
	before := testenv.HeapAfterGC()
	fill()
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(f.h)
	return grown
}
