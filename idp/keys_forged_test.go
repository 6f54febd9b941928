package idp

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"strings"
	"sync/atomic"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// forge returns tok with one character of its signature changed, so that it
// stays canonical and names the provider's issuer and kid, but no key
// verifies it.
func forge(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 4
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

// countingKey verifies RS256 with a real public key and counts the checks.
type countingKey struct {
	pub *rsa.PublicKey
	n   *atomic.Int32
}

func (k countingKey) VerifyPayload(payload, sig []byte, _ jose.SignatureAlgorithm) error {
	k.n.Add(1)
	sum := sha256.Sum256(payload)
	return rsa.VerifyPKCS1v15(k.pub, crypto.SHA256, sum[:], sig)
}

// TestForgedTokenCheckedOncePerKey: a JWT naming the provider and a kid it
// publishes, with a forged signature, was checked against the key, then
// refresh handed back the same set within the JWKS cool-down and it was
// checked again: every forged token cost two signature checks (and one per
// key twice for a token without a kid), the most expensive step any client
// without a credential can make the gateway take.
func TestForgedTokenCheckedOncePerKey(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{}, nil)
	ctx := context.Background()
	good := p.AccessToken("alice", nil)
	if _, err := c.VerifyBearer(ctx, good); err != nil { // loads the keys, starts the cool-down
		t.Fatal(err)
	}
	ks := c.meta.Load().primary.keys
	var n atomic.Int32
	ks.mu.Lock()
	for i := range ks.keys {
		if pub, ok := ks.keys[i].Key.(*rsa.PublicKey); ok {
			ks.keys[i].Key = countingKey{pub: pub, n: &n}
		}
	}
	ks.mu.Unlock()
	if _, err := c.VerifyBearer(ctx, forge(p.AccessToken("mallory", nil))); err == nil {
		t.Fatal("forged token verified")
	}
	if got := n.Load(); got != 1 {
		t.Errorf("a forged token cost %d signature checks, want 1", got)
	}
	if got := p.Requests("/jwks"); got != 1 {
		t.Errorf("JWKS fetched %d times, want once (the cool-down)", got)
	}
}

func BenchmarkVerifyBearerForged(b *testing.B) {
	p, c, _ := setup(b, oidctest.Options{}, nil)
	tok := forge(p.AccessToken("alice", nil))
	ctx := context.Background()
	if _, err := c.VerifyBearer(ctx, tok); err == nil {
		b.Fatal("forged token verified")
	}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.VerifyBearer(ctx, tok)
	}
}
