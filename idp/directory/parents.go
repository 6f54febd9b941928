package directory

import (
	"sync"
	"time"
)

// The Admin SDK lists direct memberships only, so a read lists the groups
// of each group the user is in as well. Those are the same for every user
// of the group: they are reused for parentsTTL, so that a change to a
// group's nesting reaches the sessions within parentsTTL of their next
// read, while a user's own memberships are read afresh every time.
const (
	parentsTTL = time.Minute
	// maxParentBytes bounds the memory the cache holds, counted in bytes
	// rather than names: a name may be up to maxGroupLen, and 100,000 of
	// them would be 100 MiB. 4 MiB is about 100,000 names of real length.
	maxParentBytes = 4 << 20
	// nameOverhead is what a name costs besides its bytes (its string
	// header); an entry costs its key, its slice and its map slot besides.
	nameOverhead  = 16
	entryOverhead = 64
)

type parentEntry struct {
	groups []string
	until  time.Time
}

// parentCache maps a group's address to the groups it belongs to.
type parentCache struct {
	mu    sync.Mutex
	m     map[string]parentEntry
	bytes int // bounded by maxParentBytes (entrySize)
	now   func() time.Time
}

func newParentCache() *parentCache {
	return &parentCache{m: map[string]parentEntry{}, now: time.Now}
}

// get returns group's cached groups.
func (c *parentCache) get(group string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[group]
	if ok && c.now().Before(e.until) {
		return e.groups, true
	}
	return nil, false
}

// entrySize is what caching group's groups costs, by maxParentBytes.
func entrySize(group string, groups []string) int {
	n := entryOverhead + len(group)
	for _, g := range groups {
		n += nameOverhead + len(g)
	}
	return n
}

// put caches group's groups for parentsTTL. A full cache is pruned of
// ended entries; when still full, nothing is cached (reads then ask).
func (c *parentCache) put(group string, groups []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if old, ok := c.m[group]; ok {
		c.bytes -= entrySize(group, old.groups)
		delete(c.m, group)
	}
	size := entrySize(group, groups)
	if c.bytes+size > maxParentBytes {
		for k, e := range c.m {
			if !now.Before(e.until) {
				c.bytes -= entrySize(k, e.groups)
				delete(c.m, k)
			}
		}
	}
	if c.bytes+size > maxParentBytes {
		return
	}
	c.m[group] = parentEntry{groups: groups, until: now.Add(parentsTTL)}
	c.bytes += size
}
