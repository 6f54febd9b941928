package oidctest

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// rsaPool hands out RS256 keys so that no two providers alive at the same
// time share one: a key is held from the provider's start to the end of its
// test, then given back for a later test. Each key has its own kid ("rsa-1",
// "rsa-2", ...). The first keys are test keys read from testdata (RSA
// generation takes about a second under -race); should more providers be
// alive at once, further keys are generated, a batch at a time in parallel.
type rsaPool struct {
	mu   sync.Mutex
	free []*Key // lowest kid last, so a lone provider gets "rsa-1"
	made int
}

var keyPool rsaPool

// testKeys are RSA-2048 keys made for these tests only (PKCS #8, PEM).
//
//go:embed testdata/rsa-keys.pem
var testKeys []byte

// take returns a key no live holder has and gives it back when tb ends.
func (p *rsaPool) take(tb testing.TB) *Key {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.made == 0 {
		p.add(parseTestKeys())
	}
	if len(p.free) == 0 {
		p.add(generateRSA(max(2, runtime.GOMAXPROCS(0))))
	}
	k := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	tb.Cleanup(func() { p.give(k) })
	return k
}

// add names keys rsa-<n> after those made so far and frees them; p.mu is held.
func (p *rsaPool) add(keys []*rsa.PrivateKey) {
	for i := len(keys) - 1; i >= 0; i-- {
		kid := "rsa-" + strconv.Itoa(p.made+i+1)
		p.free = append(p.free, &Key{KID: kid, Alg: "RS256", Private: keys[i]})
	}
	p.made += len(keys)
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

func parseTestKeys() []*rsa.PrivateKey {
	var keys []*rsa.PrivateKey
	for rest := testKeys; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			return keys
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			panic("oidctest: testdata/rsa-keys.pem: " + err.Error())
		}
		keys = append(keys, k.(*rsa.PrivateKey))
	}
}

// generateRSA generates n RSA-2048 keys in parallel.
func generateRSA(n int) []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, n)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i] = mustRSA("").Private.(*rsa.PrivateKey)
		}()
	}
	wg.Wait()
	return keys
}
