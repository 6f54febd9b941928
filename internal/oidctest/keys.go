package oidctest

import (
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// rsaPool hands out RS256 keys so that no two providers alive at the same
// time share one: a key is held from the provider's start to the end of its
// test, then given back for a later test. Keys are generated lazily, a batch
// at a time in parallel, so a binary pays for as many keys as it ever has
// live providers at once, not one per provider. Each key has its own kid
// ("rsa-1", "rsa-2", ...).
type rsaPool struct {
	mu   sync.Mutex
	free []*Key // lowest kid last, so a lone provider gets "rsa-1"
	made int
}

var keyPool rsaPool

// take returns a key no live holder has and gives it back when tb ends.
func (p *rsaPool) take(tb testing.TB) *Key {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		p.grow(max(2, runtime.GOMAXPROCS(0)))
	}
	k := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	tb.Cleanup(func() { p.give(k) })
	return k
}

// grow generates n keys in parallel; p.mu is held.
func (p *rsaPool) grow(n int) {
	keys := make([]*Key, n)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i] = mustRSA("rsa-" + strconv.Itoa(p.made+i+1))
		}()
	}
	wg.Wait()
	p.made += n
	for i := len(keys) - 1; i >= 0; i-- {
		p.free = append(p.free, keys[i])
	}
}

// give puts k back, keeping the lowest kid at the end of the free list.
func (p *rsaPool) give(k *Key) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, k)
	n := kidNumber(k)
	for i := len(p.free) - 1; i > 0 && kidNumber(p.free[i-1]) < n; i-- {
		p.free[i], p.free[i-1] = p.free[i-1], p.free[i]
	}
}

func kidNumber(k *Key) int {
	n, _ := strconv.Atoi(k.KID[len("rsa-"):])
	return n
}
