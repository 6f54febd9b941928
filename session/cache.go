package session

import (
	"crypto/sha256"
	"unsafe"

	"github.com/portcullis/portcullis/internal/cache"
)

// Bounds of the opened-session caches (docs/security.md, "Memory bounds").
const (
	// defaultCacheSize bounds the entries of an opened-session cache: room
	// for 10,000 active sessions however unevenly they spread over the
	// cache's shards (at exactly 10,000 about 2% of requests would miss).
	defaultCacheSize = 16384
	// cacheBytes bounds the bytes of an opened-session cache: the sessions
	// the cookie values opened to, tokens included, and the keys' digests.
	cacheBytes = 64 << 20
)

// cacheSized is a value an opened-session cache can count the bytes of.
type cacheSized interface{ cacheSize() int }

// openCache maps a sealed value to what it opened to, so that a repeat
// request costs no decryption. It is an internal/cache.Cache bounded by
// entries and bytes, keyed by the SHA-256 of the sealed value: the cookie
// values are kilobytes each, and SHA-256's collision resistance keeps one
// value from ever finding another's session. Only values that opened
// successfully are put in, so a client cannot fill it with garbage;
// callers still check expiry on every hit.
type openCache[V cacheSized] struct {
	max int
	c   *cache.Cache[[sha256.Size]byte, V]
}

// cacheKey is the digest of a sealed value, computed without copying it.
func cacheKey(sealed string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(sealed), len(sealed)))
}

func newOpenCache[V cacheSized](max int) *openCache[V] {
	if max <= 0 {
		max = defaultCacheSize
	}
	return &openCache[V]{max: max, c: cache.New(cache.Options[[sha256.Size]byte, V]{
		MaxEntries: max, MaxBytes: cacheBytes,
		Size: func(k [sha256.Size]byte, v V) int { return len(k) + v.cacheSize() },
	})}
}

// get returns the entry for key. It does not allocate.
func (c *openCache[V]) get(key string) (V, bool) { return c.c.Get(cacheKey(key)) }

// put stores v under key's digest (the cache keeps nothing of the request
// header key may be a slice of).
func (c *openCache[V]) put(key string, v V) { c.c.Set(cacheKey(key), v) }

// remove forgets key.
func (c *openCache[V]) remove(key string) { c.c.Delete(cacheKey(key)) }

// len reports the number of entries.
func (c *openCache[V]) len() int { return c.c.Len() }

// MemorySize estimates the bytes s holds (itself, its identity, the tokens
// it holds and step-ups), for the byte bounds of the caches that keep
// sessions. A resident copy (Elided) holds no tokens but, at most, the
// access token, and is counted so.
func (s *Session) MemorySize() int {
	if s == nil {
		return 0
	}
	n := int(unsafe.Sizeof(*s)) - int(unsafe.Sizeof(s.Identity)) + cache.IdentitySize(&s.Identity) +
		len(s.ID) + len(s.AccessToken) + len(s.RefreshToken) + len(s.IDToken)
	for k := range s.StepUps {
		n += len(k) + 48
	}
	return n
}

func (s *Session) cacheSize() int { return s.MemorySize() }

// cacheSize is the bytes e holds besides its fixed part.
func (e redisEntry) cacheSize() int {
	return len(e.id) + len(e.key) + len(e.tag) + e.sess.MemorySize()
}
