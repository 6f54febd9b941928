package session

import (
	"strings"
	"unsafe"

	"github.com/portcullis/portcullis/internal/cache"
)

// Bounds of the opened-session caches (docs/security.md, "Memory bounds").
const (
	// defaultCacheSize bounds the entries of an opened-session cache.
	defaultCacheSize = 10000
	// cacheBytes bounds the bytes of an opened-session cache: the cookie
	// values (keys) and the sessions they opened to, tokens included.
	cacheBytes = 64 << 20
)

// cacheSized is a value an opened-session cache can count the bytes of.
type cacheSized interface{ cacheSize() int }

// openCache maps a sealed value to what it opened to, so that a repeat
// request costs no decryption. It is an internal/cache.Cache bounded by
// entries and bytes. Only values that opened successfully are put in, so a
// client cannot fill it with garbage; callers still check expiry on every
// hit.
type openCache[V cacheSized] struct {
	max int
	c   *cache.Cache[string, V]
}

func newOpenCache[V cacheSized](max int) *openCache[V] {
	if max <= 0 {
		max = defaultCacheSize
	}
	return &openCache[V]{max: max, c: cache.New(cache.Options[string, V]{
		MaxEntries: max, MaxBytes: cacheBytes,
		Size: func(k string, v V) int { return len(k) + v.cacheSize() },
	})}
}

// get returns the entry for key. It does not allocate.
func (c *openCache[V]) get(key string) (V, bool) { return c.c.Get(key) }

// put stores v under a copy of key (the key may be a slice of a request
// header, which the cache must not keep alive).
func (c *openCache[V]) put(key string, v V) { c.c.Set(strings.Clone(key), v) }

// remove forgets key.
func (c *openCache[V]) remove(key string) { c.c.Delete(key) }

// len reports the number of entries.
func (c *openCache[V]) len() int { return c.c.Len() }

// MemorySize estimates the bytes s holds (itself, its identity, tokens and
// step-ups), for the byte bounds of the caches that keep sessions.
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
	return len(e.id) + len(e.key) + len(e.sealed) + e.sess.MemorySize()
}
