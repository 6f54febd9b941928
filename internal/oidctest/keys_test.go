package oidctest

import (
	"crypto/rsa"
	"testing"
)

// TestLiveProvidersHaveDistinctKeys: providers alive at once (and a Google
// service account beside them) never share an RSA key or a kid, so a relying
// party that trusts several cannot verify one's token with another's JWKS;
// a key given back at the end of a test is handed out again.
func TestLiveProvidersHaveDistinctKeys(t *testing.T) {
	var first *Key
	t.Run("live", func(t *testing.T) {
		a, b := New(t, Options{}), New(t, Options{})
		e := NewEntra(t, EntraOptions{}, EntraUser{})
		g := NewGoogle(t, GoogleOptions{})
		keys := []*Key{a.Key(), b.Key(), e.Provider.Key()}
		seen := map[string]bool{}
		for _, k := range keys {
			pub := k.Private.(*rsa.PrivateKey).PublicKey
			if seen[k.KID] || pub.Equal(&g.key.PublicKey) {
				t.Fatalf("kid %q shared by two live parties", k.KID)
			}
			seen[k.KID] = true
			for _, o := range keys {
				if o != k && pub.Equal(&o.Private.(*rsa.PrivateKey).PublicKey) {
					t.Fatalf("keys %q and %q are the same key", k.KID, o.KID)
				}
			}
		}
		first = a.Key()
	})
	if c := New(t, Options{}); c.Key() != first {
		t.Fatalf("after the test ended, a new provider got %q, not the returned %q", c.Key().KID, first.KID)
	}
}
