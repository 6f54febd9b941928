package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAssertionKeyRotationSIGHUP: the binary reloads a changed
// headers.assertion_key_file on SIGHUP and signs with the new key, while
// the assertion the upstream received a moment before still verifies
// against jwks.json (the replaced public key stays listed).
func TestAssertionKeyRotationSIGHUP(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	dir := t.TempDir()
	config := func(keyFile string) string {
		return tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
			Extra: "[headers]\nassertion_key_file = \"" + keyFile + "\"\n", Routes: "[[routes]]\npath = \"/**\"\n"}.String()
	}
	keyA, keyB := writeECKey(t, filepath.Join(dir, "a.pem")), writeECKey(t, filepath.Join(dir, "b.pem"))
	gw := startGateway(t, a, config(keyA))
	session := browser(t)
	assertion := func() string {
		t.Helper()
		if status, body, _ := get(t, session, gw.URL+"/app"); status != 200 {
			t.Fatalf("GET /app: %d %s", status, body)
		}
		return up.last().Headers.Get("X-Portcullis-Jwt-Assertion")
	}
	before := assertion()
	gw.rewrite(t, a, config(keyB))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	after := assertion()
	if after == before {
		t.Fatal("the same assertion after the key changed")
	}
	ctx := context.Background()
	keys := oidc.NewRemoteKeySet(ctx, gw.URL+"/oauth2/jwks.json")
	v := oidc.NewVerifier("http://"+a.Listen, keys, &oidc.Config{ClientID: a.Listen, SupportedSigningAlgs: []string{"ES256"}})
	for name, raw := range map[string]string{"signed before the reload": before, "signed after": after} {
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Errorf("the assertion %s does not verify: %v", name, err)
		}
	}
}

// writeECKey writes a fresh P-256 private key (PKCS#8 PEM) to path.
func writeECKey(t *testing.T, path string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
