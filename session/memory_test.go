// The floods are too slow under the race detector, which also distorts the
// heap they measure; scripts/test.sh runs them without it.

//go:build !race

package session

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestCookieCacheMemoryBounded floods the opened-session cache through
// Save, which fills it, with 12,000 distinct sessions carrying about 8 KB of
// incompressible access token each (sealed cookies of about 11 KB, near the
// largest Save accepts), which a
// store told to keep access tokens caches. The live heap must stay within
// twice the cache's byte bound; bounded by entries alone (10,000) the same
// flood held about 250 MB.
func TestCookieCacheMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	clock := newTestClock()
	store, err := NewCookieStore(testCookieConfig(t, clock), StoreOptions{KeepAccessToken: true})
	if err != nil {
		t.Fatal(err)
	}
	pad := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	at, idt := pad(6000), pad(100)
	before := testenv.HeapAfterGC()
	for i := range 12_000 {
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

// TestConsumedStatesMemoryBounded floods the memory of accepted login
// states through consume (what Take calls once a state opened) with more
// than maxConsumed distinct states of the longest accepted length. The
// memory keeps digests only, so it stays within twice its byte bound, and
// a state taken after the flood is still refused when replayed.
func TestConsumedStatesMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	clock := newTestClock()
	c := newTestStateCookies(t, testCookieConfig(t, clock))
	pad := strings.Repeat("s", maxStateLen-8)
	before := testenv.HeapAfterGC()
	forget := clock.Now().Add(LoginStateTTL)
	for i := range maxConsumed + 10_000 {
		if !c.consume(fmt.Sprintf("%s%08d", pad, i), forget) {
			t.Fatalf("state %d refused", i)
		}
	}
	state := pad + "-last"
	last := issue(t, c, nil, state)
	if _, _, err := take(c, last, state); err != nil {
		t.Fatalf("Take after the flood: %v", err)
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(c)
	t.Logf("heap grew %d MiB", grown>>20)
	if grown > 2*maxConsumedBytes {
		t.Errorf("the accepted-state memory holds %d MiB, over %d MiB", grown>>20, 2*maxConsumedBytes>>20)
	}
	if _, _, err := take(c, last, state); !errors.Is(err, ErrLoginState) {
		t.Errorf("replay of the newest state after the flood: %v", err)
	}
}

// TestCachedSessionsHeap measures the heap 10,000 opened sessions with
// realistic tokens hold in a cookie store's cache, filled by Load of
// distinct sealed cookies as a gateway's cache fills under a many-users
// load (docs/performance.md). The cache keeps them without their tokens:
// about 1.1 KB each (1.2 KB before issuer, group and scope names were
// shared); with them it held about 2.7 KB each.
func TestCachedSessionsHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a cache")
	}
	const sessions = 10_000
	p := oidctest.New(t, oidctest.Options{JWTAccessTokens: true})
	clock := newTestClock()
	cfg := testCookieConfig(t, clock)
	sealer := newTestCookieStore(t, cfg)
	// Signing is slow: 50 token sets, copied into each session (every
	// opened session holds its own copy of its strings).
	var proto []*Session
	for i := range 50 {
		proto = append(proto, realisticSession(t, p, i, clock.Now()))
	}
	reqs := make([]*http.Request, sessions)
	for i := range reqs {
		s := proto[i%len(proto)].Clone()
		s.Identity.Subject = "user-" + strconv.Itoa(i)
		reqs[i] = requestWith(saveCookies(t, sealer, nil, s))
	}
	store := newTestCookieStore(t, cfg)
	before := testenv.HeapAfterGC()
	for _, r := range reqs {
		if _, err := store.Load(r); err != nil {
			t.Fatal(err)
		}
	}
	grown := testenv.HeapAfterGC() - before
	runtime.KeepAlive(store)
	runtime.KeepAlive(reqs)
	n := store.cache.len() // the cache's shards may each have evicted a few
	if n < sessions*95/100 {
		t.Fatalf("the cache holds %d sessions, want about %d", n, sessions)
	}
	per := grown / int64(n)
	t.Logf("%d cached sessions hold %d KiB of heap: %d bytes each", n, grown>>10, per)
	if per > 2000 {
		t.Errorf("a cached session holds %d bytes of heap, want at most 2000 (its tokens are not kept)", per)
	}
}

// TestResidentListsHeap measures what the resident copies of 10,000 opened
// sessions hold beyond the sessions they were made from, when the users
// share their group and scope lists (two groups of fifty teams, the same
// three scopes), as in the load benchmark's many-sessions mix: the copy
// itself (448 bytes with its size class) and one shared copy of each list.
// A copy of both lists per session was 80 bytes more.
func TestResidentListsHeap(t *testing.T) {
	const sessions = 10_000
	opened := make([]*Session, sessions)
	for i := range opened {
		opened[i] = decoded(t, []string{"staff", "team-" + strconv.Itoa(i%50)}, []string{"openid", "email", "profile"})
	}
	resident := make([]*Session, sessions)
	before := testenv.HeapAfterGC()
	for i, s := range opened {
		resident[i] = s.resident(residentRule{})
	}
	per := (testenv.HeapAfterGC() - before) / sessions
	runtime.KeepAlive(opened)
	runtime.KeepAlive(resident)
	t.Logf("%d bytes per resident session", per)
	if per > 470 {
		t.Errorf("a resident session holds %d bytes, want at most 470 (its group and scope lists shared)", per)
	}
}

// TestSharedListsMemoryBounded floods the shared name lists (internAll)
// with 20,000 distinct lists of a 4 KB group, as a provider that gives every
// user a list of their own would: the lists no session holds any more stay
// within twice the cache's byte bound, and a list is still shared after.
func TestSharedListsMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a cache")
	}
	pad := strings.Repeat("g", 4<<10)
	before := testenv.HeapAfterGC()
	for i := range 20_000 {
		internAll([]string{"staff", pad + strconv.Itoa(i)})
	}
	grown := testenv.HeapAfterGC() - before
	t.Logf("heap grew %d KiB, %d lists kept", grown>>10, sharedLists().Len())
	if limit := int64(2*sharedListsBytes + 8<<20); grown > limit {
		t.Errorf("the shared lists hold %d MiB after the flood, over %d MiB", grown>>20, limit>>20)
	}
	a, b := internAll([]string{"staff", "ops"}), internAll([]string{"staff", "ops"})
	if &a[0] != &b[0] {
		t.Error("a list is no longer shared after the flood")
	}
}
