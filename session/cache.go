package session

import (
	"strings"
	"sync"
)

// defaultCacheSize bounds the opened-session caches (entries).
const defaultCacheSize = 10000

// openCache maps a sealed value to what it opened to, so that a repeat
// request costs no decryption. It is bounded: when full, an arbitrary entry
// (the first one map iteration yields, which Go randomises) is evicted. Only
// values that opened successfully are put in, so a client cannot fill it
// with garbage; callers still check expiry on every hit.
type openCache[V any] struct {
	mu  sync.RWMutex
	max int
	m   map[string]V
}

func newOpenCache[V any](max int) *openCache[V] {
	if max <= 0 {
		max = defaultCacheSize
	}
	return &openCache[V]{max: max, m: make(map[string]V)}
}

// get returns the entry for key. It does not allocate.
func (c *openCache[V]) get(key string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[key]
	c.mu.RUnlock()
	return v, ok
}

// put stores v under a copy of key (the key may be a slice of a request
// header, which the cache must not keep alive).
func (c *openCache[V]) put(key string, v V) {
	key = strings.Clone(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = v
}

// remove forgets key.
func (c *openCache[V]) remove(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// len reports the number of entries.
func (c *openCache[V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
