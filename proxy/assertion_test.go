package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

func TestAssertionVerifiesAgainstJWKS(t *testing.T) {
	for _, kind := range []string{"generated", "rsa-pkcs1", "ec-sec1", "ec-pkcs8"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if kind != "generated" {
					c.AssertionKeyFile = writeKey(t, kind)
				}
			})
			srv := serveGateway(t, f)
			cookies := f.cookies(t, f.session())
			req, _ := http.NewRequest("GET", srv.URL+"/app/x", nil)
			req.Host = "App.Example.com:8443"
			for _, c := range cookies {
				req.AddCookie(c)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("request: %v %v", resp, err)
			}
			raw := f.up.last(t).Header.Get("X-Portcullis-Jwt-Assertion")
			ctx := context.Background()
			keys := oidc.NewRemoteKeySet(ctx, srv.URL+"/oauth2/jwks.json")
			v := oidc.NewVerifier("http://gw.test", keys, &oidc.Config{ClientID: "app.example.com:8443",
				SupportedSigningAlgs: []string{"ES256", "RS256"}, Now: f.clock.Now})
			tok, err := v.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("assertion does not verify: %v", err)
			}
			var claims struct {
				Email  string   `json:"email"`
				Groups []string `json:"groups"`
			}
			if err := tok.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if tok.Subject != "alice" || claims.Email != "alice@example.com" || strings.Join(claims.Groups, ",") != "admins,staff" {
				t.Errorf("claims: sub %q %+v", tok.Subject, claims)
			}
			if d := tok.Expiry.Sub(tok.IssuedAt); d < 2*time.Minute || d > 5*time.Minute {
				t.Errorf("lifetime = %v", d)
			}
		})
	}
}

func TestAssertionCachedUntilHalfLife(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	get := func() string {
		f.do(t, "GET", "/app/x", nil, withCookies(cookies))
		return f.up.last(t).Header.Get("X-Portcullis-Jwt-Assertion")
	}
	a := get()
	if b := get(); b != a {
		t.Fatal("assertion re-signed within its half-life")
	}
	f.clock.Advance(assertionLifetime/2 + time.Second)
	if c := get(); c == a {
		t.Fatal("assertion reused past its half-life")
	}
}

func TestAssertionKeyRefused(t *testing.T) {
	dir := t.TempDir()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(p384)
	path := filepath.Join(dir, "p384.pem")
	_ = os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	if _, err := newSigner(nil, path); err == nil {
		t.Error("a P-384 key was accepted")
	}
	garbage := filepath.Join(dir, "garbage.pem")
	_ = os.WriteFile(garbage, []byte("not a key"), 0o600)
	if _, err := newSigner(nil, garbage); err == nil {
		t.Error("a file without a key was accepted")
	}
}

func writeKey(t *testing.T, kind string) string {
	t.Helper()
	var block *pem.Block
	switch kind {
	case "rsa-pkcs1":
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case "ec-sec1":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalECPrivateKey(k)
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case "ec-pkcs8":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
