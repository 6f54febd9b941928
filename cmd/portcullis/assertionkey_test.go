package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
	keyFile := func(name string) string { return writeKeyFile(t, filepath.Join(dir, name+".pem"), newPEMKey(t)) }
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

// newPEMKey is a fresh P-256 private key in PEM (PKCS#8).
func newPEMKey(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// writeKeyFile writes the PEM blocks to path and returns path.
func writeKeyFile(t *testing.T, path string, blocks ...[]byte) string {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(blocks, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAssertionKeyRotationAcrossReplicas: replicas rotate their shared key
// without an app refusing an assertion. The key file lists the new key
// after the signing one, and every replica publishes it before any signs
// with it; then each in turn signs with it (the file lists it first),
// while the others still publish it. An app that fetched jwks.json from
// either replica verifies the assertions of both.
func TestAssertionKeyRotationAcrossReplicas(t *testing.T) {
	dir := t.TempDir()
	a, b := newPEMKey(t), newPEMKey(t)
	withKey := func(path string) string { return fmt.Sprintf("[headers]\nassertion_key_file = %q\n", path) }
	oldFirst := writeKeyFile(t, filepath.Join(dir, "old-first.pem"), a, b)
	newFirst := writeKeyFile(t, filepath.Join(dir, "new-first.pem"), b, a)
	replicas := []*fixture{
		newFixtureWith(t, nil, nil, func(c *testConfig) { c.route = withKey(oldFirst) }),
		newFixtureWith(t, nil, nil, func(c *testConfig) { c.route = withKey(oldFirst) }),
	}
	// Step 1 done: both sign with a and publish b. Step 2: the first
	// replica signs with b, the second has not reloaded yet.
	c := replicas[0].cfg
	c.route = withKey(newFirst)
	replicas[0].write(c.String())
	if !replicas[0].g.reload(context.Background()) {
		t.Fatalf("reload refused; logs:\n%s", replicas[0].logs)
	}
	signed := make([]string, len(replicas))
	for i, f := range replicas {
		alice := f.login()
		for len(f.upSeen) > 0 {
			<-f.upSeen
		}
		if code := f.get(alice, "/app", false); code != 200 {
			t.Fatalf("replica %d: GET /app = %d", i, code)
		}
		signed[i] = (<-f.upSeen).Get("X-Portcullis-Jwt-Assertion")
	}
	if kid(t, signed[0]) == kid(t, signed[1]) {
		t.Fatal("both replicas sign with the same key: the first did not take the new one")
	}
	ctx := context.Background()
	for i, raw := range signed {
		for j, from := range replicas {
			// The replicas have their own public_url here: only the
			// signature is the point.
			keys := oidc.NewRemoteKeySet(ctx, from.url("/oauth2/jwks.json"))
			v := oidc.NewVerifier("", keys, &oidc.Config{SkipIssuerCheck: true, SkipClientIDCheck: true,
				SupportedSigningAlgs: []string{"ES256"}})
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Errorf("replica %d's assertion against replica %d's jwks.json: %v", i, j, err)
			}
		}
	}
}

// kid is the key id in the protected header of a compact JWS.
func kid(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hdr struct{ Kid string }
	if err != nil || json.Unmarshal(b, &hdr) != nil || hdr.Kid == "" {
		t.Fatalf("no kid in the assertion header %q", b)
	}
	return hdr.Kid
}
