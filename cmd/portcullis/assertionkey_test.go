package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestReloadAssertionKeyRotation: a reload that changes
// headers.assertion_key_file signs with the new key at once, and jwks.json
// keeps publishing the previous public key, so that an assertion signed a
// moment before the reload (in flight, or held by the app) still verifies.
// A key replaced two rotations ago is no longer published, a reload that
// keeps the key keeps the previous one published, and no private member
// of any key is ever served.
func TestReloadAssertionKeyRotation(t *testing.T) {
	dir := t.TempDir()
	keyFile := func(name string) string {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		path := filepath.Join(dir, name+".pem")
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	withKey := func(path string) string { return fmt.Sprintf("[headers]\nassertion_key_file = %q\n", path) }
	keyA, keyB, keyC := keyFile("a"), keyFile("b"), keyFile("c")
	f := newFixtureWith(t, nil, nil, func(c *testConfig) { c.route = withKey(keyA) })
	alice := f.login()
	assertion := func() string {
		t.Helper()
		for len(f.upSeen) > 0 {
			<-f.upSeen
		}
		if code := f.get(alice, "/app", false); code != 200 {
			t.Fatalf("GET /app = %d", code)
		}
		a := (<-f.upSeen).Get("X-Portcullis-Jwt-Assertion")
		if a == "" {
			t.Fatal("no assertion reached the upstream")
		}
		return a
	}
	rotate := func(path string) {
		t.Helper()
		c := f.cfg
		c.route = withKey(path)
		f.write(c.String())
		if !f.g.reload(context.Background()) {
			t.Fatalf("reload refused; logs:\n%s", f.logs)
		}
	}
	// verifies reports whether raw verifies against the jwks.json served now.
	verifies := func(raw string) bool {
		t.Helper()
		ctx := context.Background()
		keys := oidc.NewRemoteKeySet(ctx, f.url("/oauth2/jwks.json"))
		v := oidc.NewVerifier("http://"+f.cfg.public, keys, &oidc.Config{ClientID: f.cfg.public,
			SupportedSigningAlgs: []string{"ES256", "RS256"}})
		_, err := v.Verify(ctx, raw)
		return err == nil
	}

	signedByA := assertion()
	rotate(keyB)
	signedByB := assertion()
	if signedByB == signedByA {
		t.Fatal("the assertion was not signed again after the key changed")
	}
	if !verifies(signedByB) {
		t.Error("an assertion signed by the new key does not verify")
	}
	if !verifies(signedByA) {
		t.Error("an assertion signed just before the rotation no longer verifies: jwks.json dropped the previous key")
	}
	checkJWKS(t, f, 2)

	rotate(keyB) // unchanged: the previous key stays published
	if !verifies(signedByA) {
		t.Error("a reload that kept the key dropped the previous one from jwks.json")
	}
	rotate(keyC)
	signedByC := assertion()
	if !verifies(signedByC) || !verifies(signedByB) {
		t.Error("after a second rotation the new or the previous key is missing")
	}
	if verifies(signedByA) {
		t.Error("a key replaced two rotations ago is still published")
	}
	checkJWKS(t, f, 2)
}

// checkJWKS fetches jwks.json and checks that it lists want keys, each
// with kid, use sig and alg, and no private member.
func checkJWKS(t *testing.T, f *fixture, want int) {
	t.Helper()
	resp, err := http.Get(f.url("/oauth2/jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("jwks.json: %v: %s", err, body)
	}
	if len(set.Keys) != want {
		t.Errorf("jwks.json lists %d keys, want %d: %s", len(set.Keys), want, body)
	}
	kids := map[any]bool{}
	for _, k := range set.Keys {
		if k["kid"] == "" || k["kid"] == nil || k["use"] != "sig" || k["alg"] == nil || kids[k["kid"]] {
			t.Errorf("key without a distinct kid, use sig or alg: %v", k)
		}
		kids[k["kid"]] = true
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("jwks.json serves the private member %q", private)
			}
		}
	}
}
