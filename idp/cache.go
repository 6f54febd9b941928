package idp

import (
	"crypto/sha256"
	"time"
	"unsafe"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/cache"
)

// Bounds of the client's caches (docs/security.md, "Memory bounds").
const (
	// bearerCacheEntries and bearerCacheBytes bound the verified bearer
	// tokens (JWT and introspection results) remembered.
	bearerCacheEntries = 10000
	bearerCacheBytes   = 32 << 20
	// refusedCacheEntries bounds the tokens introspection refused that are
	// remembered for refusedTokenTTL; entries are fixed-size digests.
	refusedCacheEntries = 10000
	refusedCacheBytes   = 2 << 20
	// jtiCacheEntries bounds the logout-token jti values remembered;
	// entries are fixed-size digests.
	jtiCacheEntries = 10000
	jtiCacheBytes   = 2 << 20
)

// newBearerCache remembers verified bearer tokens, keyed by their SHA-256
// so the cache holds no token, until their identity's validity ends.
func newBearerCache(now func() time.Time) *cache.Cache[[32]byte, *portcullis.Identity] {
	return cache.New(cache.Options[[32]byte, *portcullis.Identity]{
		MaxEntries: bearerCacheEntries, MaxBytes: bearerCacheBytes, Now: now,
		Size: func(_ [32]byte, id *portcullis.Identity) int { return cache.IdentitySize(id) },
	})
}

// newRefusedCache remembers, by SHA-256, opaque tokens introspection
// refused, for refusedTokenTTL: a client retrying a bad token costs no
// provider call.
func newRefusedCache(now func() time.Time) *cache.Cache[[32]byte, struct{}] {
	return cache.New(cache.Options[[32]byte, struct{}]{
		MaxEntries: refusedCacheEntries, MaxBytes: refusedCacheBytes, TTL: refusedTokenTTL, Now: now,
	})
}

// newReplayCache remembers logout-token jti values (by SHA-256 of issuer
// and jti) until they could no longer be accepted anyway (OIDC Back-Channel
// Logout 1.0 §2.6 step 9). When full of live entries it refuses new ones:
// forgetting a jti would accept its replay.
func newReplayCache(now func() time.Time) *cache.Cache[[32]byte, struct{}] {
	return cache.New(cache.Options[[32]byte, struct{}]{
		MaxEntries: jtiCacheEntries, MaxBytes: jtiCacheBytes, Now: now, KeepLive: true,
	})
}

// tokenKey hashes the token without copying it: Sum256 neither keeps nor
// modifies its input, and the copy would be the hot path's only allocation.
func tokenKey(token string) [32]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}
