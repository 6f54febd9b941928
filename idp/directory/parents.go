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
	// maxParentNames bounds the group names the cache holds.
	maxParentNames = 100000
)

type parentEntry struct {
	groups []string
	until  time.Time
}

// parentCache maps a group's address to the groups it belongs to.
type parentCache struct {
	mu    sync.Mutex
	m     map[string]parentEntry
	names int // group names held, bounded by maxParentNames
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

// put caches group's groups for parentsTTL. A full cache is pruned of
// ended entries; when still full, nothing is cached (reads then ask).
func (c *parentCache) put(group string, groups []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if old, ok := c.m[group]; ok {
		c.names -= len(old.groups) + 1
		delete(c.m, group)
	}
	if c.names+len(groups)+1 > maxParentNames {
		for k, e := range c.m {
			if !now.Before(e.until) {
				c.names -= len(e.groups) + 1
				delete(c.m, k)
			}
		}
	}
	if c.names+len(groups)+1 > maxParentNames {
		return
	}
	c.m[group] = parentEntry{groups: groups, until: now.Add(parentsTTL)}
	c.names += len(groups) + 1
}
