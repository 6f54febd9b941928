// Package cache is the gateway's one in-memory cache: bounded by entries and
// by bytes, with per-entry expiry, safe for concurrent use, and free of
// allocations on a hit. Every cache in the gateway (opened sessions, bearer
// and introspection results, replay memories, identity-header values) is one
// of these, so each states its bounds in one place and none can grow with
// what a client sends.
//
// Eviction is CLOCK (second chance) per shard: a hit sets a reference bit
// under the shard's read lock, so hits never contend on a write lock the way
// an LRU list would; an insert into a full shard sweeps the shard's slots
// from a hand, dropping the first expired or unreferenced entry and clearing
// the bits it passes. A sweep ends within two turns of the shard, and
// amortised it touches a few slots per insert. Entries inserted and never
// read again (a flood of distinct keys) are the first to go, so a flood does
// not push out entries in use. Keys are spread over up to 16 shards by a
// hash with a per-cache random seed, so a client cannot aim at one shard.
package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// maxShards caps the shards of a cache; minShardEntries is the fewest
// entries a shard holds, so small caches keep exact bounds in one shard.
const (
	maxShards       = 16
	minShardEntries = 256
)

// Options configures a Cache. MaxEntries and MaxBytes must be positive.
type Options[K comparable, V any] struct {
	// MaxEntries bounds the number of entries.
	MaxEntries int
	// MaxBytes bounds the bytes the entries hold: for each entry the
	// cache's own per-entry overhead (see Overhead) plus what Size says.
	MaxBytes int64
	// TTL is the lifetime of an entry stored with Set; 0 means until
	// evicted. SetUntil and Add take their own expiry.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Size returns the bytes an entry holds besides the fixed-size part of
	// its key and value: string and slice contents, values behind pointers
	// that the cache keeps alive. nil means 0 (fixed-size keys and values).
	Size func(K, V) int
	// KeepLive makes a full cache refuse an insert rather than evict an
	// entry that has not expired: a replay memory that forgot a live entry
	// would accept a replay, so it fails closed instead.
	KeepLive bool
}

// Cache is a bounded map with expiry; see the package comment. It is safe
// for concurrent use. The zero value is not usable: call New.
type Cache[K comparable, V any] struct {
	shards   []shard[K, V]
	mask     uint64
	seed     maphash.Seed
	ttl      time.Duration
	now      func() time.Time
	size     func(K, V) int
	overhead int64
	keepLive bool
}

type shard[K comparable, V any] struct {
	mu         sync.RWMutex
	index      map[K]int32
	slots      []slot[K, V]
	free       []int32
	hand       int
	bytes      int64
	maxEntries int
	maxBytes   int64
	_          [64]byte // keeps neighbouring shards' locks off one cache line
}

type slot[K comparable, V any] struct {
	key  K
	val  V
	exp  int64  // Unix nanoseconds; 0 means no expiry
	size int64  // bytes counted for this entry
	ref  uint32 // CLOCK reference bit, set atomically under the read lock
	used bool
}

// New returns an empty cache. It panics when a bound is not positive: an
// unbounded cache is a programming error, not a configuration.
func New[K comparable, V any](o Options[K, V]) *Cache[K, V] {
	if o.MaxEntries <= 0 || o.MaxBytes <= 0 {
		panic("cache: MaxEntries and MaxBytes must be positive")
	}
	n := 1
	for n < maxShards && o.MaxEntries/(n*2) >= minShardEntries {
		n *= 2
	}
	c := &Cache[K, V]{
		shards: make([]shard[K, V], n), mask: uint64(n - 1), seed: maphash.MakeSeed(),
		ttl: o.TTL, now: o.Now, size: o.Size, keepLive: o.KeepLive,
		overhead: Overhead[K, V](),
	}
	if c.now == nil {
		c.now = time.Now
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.index = make(map[K]int32)
		s.maxEntries = o.MaxEntries / n
		s.maxBytes = o.MaxBytes / int64(n)
	}
	return c
}

// Overhead is the bytes a cache of K and V counts for an entry besides what
// Options.Size says: its slot, the index's copy of the key, and the map's
// bookkeeping.
func Overhead[K comparable, V any]() int64 {
	var k K
	return int64(unsafe.Sizeof(slot[K, V]{})) + int64(unsafe.Sizeof(k)) + 16
}

func (c *Cache[K, V]) shard(k K) *shard[K, V] {
	if c.mask == 0 {
		return &c.shards[0]
	}
	return &c.shards[maphash.Comparable(c.seed, k)&c.mask]
}

// Get returns the entry for k when it exists and has not expired. A hit
// does not allocate.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	now := c.now().UnixNano()
	s := c.shard(k)
	s.mu.RLock()
	i, ok := s.index[k]
	if ok {
		e := &s.slots[i]
		if e.exp == 0 || now < e.exp {
			if atomic.LoadUint32(&e.ref) == 0 {
				atomic.StoreUint32(&e.ref, 1)
			}
			v := e.val
			s.mu.RUnlock()
			return v, true
		}
	}
	s.mu.RUnlock()
	if ok { // expired: free its memory now rather than at the next sweep
		s.mu.Lock()
		if i, ok := s.index[k]; ok && s.slots[i].exp != 0 && now >= s.slots[i].exp {
			s.remove(i)
		}
		s.mu.Unlock()
	}
	var zero V
	return zero, false
}

// Set stores v under k for Options.TTL (or until evicted when TTL is 0),
// replacing any entry for k. It reports false when the entry was not
// stored (k then has no entry): it alone exceeds a shard's share of
// MaxBytes, or a KeepLive cache is full of live entries.
func (c *Cache[K, V]) Set(k K, v V) bool {
	var exp time.Time
	if c.ttl > 0 {
		exp = c.now().Add(c.ttl)
	}
	return c.SetUntil(k, v, exp)
}

// SetUntil is Set with the entry's own expiry; a zero expires means none.
func (c *Cache[K, V]) SetUntil(k K, v V, expires time.Time) bool {
	_, ok := c.put(k, v, expires, true)
	return ok
}

// Add stores v under k until expires only when k has no live entry, and
// reports whether it did: the check-and-record of a replay memory in one
// step. It reports false when k is present and unexpired, or when the
// entry could not be stored (see Set).
func (c *Cache[K, V]) Add(k K, v V, expires time.Time) bool {
	_, ok := c.put(k, v, expires, false)
	return ok
}

func (c *Cache[K, V]) put(k K, v V, expires time.Time, replace bool) (present, ok bool) {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixNano()
	}
	size := c.overhead
	if c.size != nil {
		size += int64(c.size(k, v))
	}
	now := c.now().UnixNano()
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, found := s.index[k]; found {
		e := &s.slots[i]
		if !replace && (e.exp == 0 || now < e.exp) {
			return true, false
		}
		s.remove(i) // even when v cannot be stored: k must not keep an older value
	}
	if size > s.maxBytes {
		return false, false
	}
	for len(s.index) >= s.maxEntries || s.bytes+size > s.maxBytes {
		if !s.evict(now, c.keepLive) {
			return false, false
		}
	}
	var i int32
	if n := len(s.free); n > 0 {
		i = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		s.slots = append(s.slots, slot[K, V]{})
		i = int32(len(s.slots) - 1)
	}
	s.slots[i] = slot[K, V]{key: k, val: v, exp: exp, size: size, used: true}
	s.index[k] = i
	s.bytes += size
	return false, true
}

// evict drops one entry by CLOCK: the first expired or unreferenced entry
// from the hand on, clearing reference bits on the way (with keepLive, only
// an expired one). It reports false when there is none. Called with s.mu
// held for writing.
func (s *shard[K, V]) evict(now int64, keepLive bool) bool {
	n := len(s.slots)
	for scanned := 0; scanned < 2*n; scanned++ {
		if s.hand >= n {
			s.hand = 0
		}
		i := s.hand
		s.hand++
		e := &s.slots[i]
		if !e.used {
			continue
		}
		if e.exp != 0 && now >= e.exp {
			s.remove(int32(i))
			return true
		}
		if keepLive {
			continue
		}
		if e.ref != 0 {
			e.ref = 0
			continue
		}
		s.remove(int32(i))
		return true
	}
	return false
}

// remove frees slot i and lets go of its key and value. Called with s.mu
// held for writing.
func (s *shard[K, V]) remove(i int32) {
	e := &s.slots[i]
	delete(s.index, e.key)
	s.bytes -= e.size
	*e = slot[K, V]{}
	s.free = append(s.free, i)
}

// Delete forgets k.
func (c *Cache[K, V]) Delete(k K) {
	s := c.shard(k)
	s.mu.Lock()
	if i, ok := s.index[k]; ok {
		s.remove(i)
	}
	s.mu.Unlock()
}

// Len reports the number of entries, expired ones not yet dropped included.
func (c *Cache[K, V]) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.index)
		s.mu.RUnlock()
	}
	return n
}

// Bytes reports the bytes counted for the entries (see Options.MaxBytes).
func (c *Cache[K, V]) Bytes() int64 {
	var n int64
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.bytes
		s.mu.RUnlock()
	}
	return n
}
