package session

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"unique"

	"github.com/portcullis/portcullis/internal/cache"
)

// Bounds of the shared name lists (docs/security.md, "Memory bounds"): the
// distinct group and scope lists of the users signed in at once are a few
// hundred in a company; a provider that gives every user a list of their
// own only fills the cache, whose least used lists are dropped.
const (
	sharedListsSize  = 4096
	sharedListsBytes = 4 << 20
)

// sharedLists maps a list of names, encoded by listKey, to the one copy
// the resident sessions holding that list share. Built at the first
// session opened, not at start-up.
var sharedLists = sync.OnceValue(func() *cache.Cache[string, []string] {
	return cache.New(cache.Options[string, []string]{
		MaxEntries: sharedListsSize, MaxBytes: sharedListsBytes,
		Size: func(k string, v []string) int { return len(k) + cache.StringsSize(v) },
	})
})

// internAll returns ss with each string interned (unique.Make), as one
// slice shared by every resident session with the same list: with 10,000
// sessions cached, the same few group and scope lists were otherwise held
// once per session (80 bytes each for two groups and three scopes, more
// with a directory's long lists). The shared slice's capacity is its
// length, so an append copies; resident sessions are read-only, and their
// slices are replaced, never changed in place. It returns nil for nil and
// an empty list as it is.
func internAll(ss []string) []string {
	if len(ss) == 0 {
		return ss
	}
	key := listKey(ss)
	lists := sharedLists()
	// The key spells the list unambiguously; the comparison is the check
	// that a hit is this very list, whatever the key's spelling.
	if shared, ok := lists.Get(key); ok && slices.Equal(shared, ss) {
		return shared
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = unique.Make(s).Value()
	}
	lists.Set(key, out)
	return out
}

// listKey spells ss as its strings each preceded by its length, so that no
// two lists share a key (["a,b"] and ["a", "b"] differ).
func listKey(ss []string) string {
	var b strings.Builder
	n := 0
	for _, s := range ss {
		n += len(s) + 4
	}
	b.Grow(n)
	var num [20]byte
	for _, s := range ss {
		b.Write(strconv.AppendInt(num[:0], int64(len(s)), 10))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}
