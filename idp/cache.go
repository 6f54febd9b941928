package idp

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"

	"github.com/portcullis/portcullis"
)

// tokenCache remembers verified bearer tokens, keyed by their SHA-256 so the
// cache holds no token, until their identity's validity ends. It is bounded:
// when full, expired entries go first, then arbitrary ones.
type tokenCache struct {
	max     int
	mu      sync.RWMutex
	entries map[[32]byte]cachedIdentity
}

type cachedIdentity struct {
	id    *portcullis.Identity
	until time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, entries: make(map[[32]byte]cachedIdentity)}
}

// tokenKey hashes the token without copying it: Sum256 neither keeps nor
// modifies its input, and the copy would be the hot path's only allocation.
func tokenKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

func (t *tokenCache) get(key [32]byte, now time.Time) (*portcullis.Identity, bool) {
	t.mu.RLock()
	e, ok := t.entries[key]
	t.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil, false
	}
	return e.id, true
}

func (t *tokenCache) put(key [32]byte, id *portcullis.Identity, until, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= t.max {
		for k, e := range t.entries {
			if !now.Before(e.until) {
				delete(t.entries, k)
			}
		}
		for k := range t.entries { // still full: drop arbitrary entries
			if len(t.entries) < t.max*9/10 {
				break
			}
			delete(t.entries, k)
		}
	}
	t.entries[key] = cachedIdentity{id: id, until: until}
}

// replayCache remembers logout-token jti values until they could no longer
// be accepted anyway (OIDC Back-Channel Logout 1.0 §2.6 step 9).
type replayCache struct {
	max  int
	mu   sync.Mutex
	seen map[string]time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[string]time.Time)}
}

// firstUse records key until until and reports whether it was new.
func (r *replayCache) firstUse(key string, until, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if exp, ok := r.seen[key]; ok && now.Before(exp) {
		return false
	}
	if len(r.seen) >= r.max {
		for k, exp := range r.seen {
			if !now.Before(exp) {
				delete(r.seen, k)
			}
		}
		if len(r.seen) >= r.max {
			return false // fail closed rather than forget a jti
		}
	}
	r.seen[key] = until
	return true
}
