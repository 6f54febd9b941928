package idp

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestVerifyBearerIgnoresX5c: a token signed with the attacker's key that
// carries the attacker's certificate (x5c) is refused; keys come from the
// JWKS only.
func TestVerifyBearerIgnoresX5c(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	attacker := oidctest.NewUnpublishedKey(t, "x", "ES256")
	priv := attacker.Private.(*ecdsa.PrivateKey)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: p.Issuer},
		NotBefore: clk.Now().Add(-time.Hour), NotAfter: clk.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), crypto.Signer(priv))
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now().Unix()
	tok := p.Sign(map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "iat": now, "exp": now + 600},
		oidctest.SignOptions{Key: attacker, Typ: "at+jwt", Header: map[string]any{"x5c": []string{base64.StdEncoding.EncodeToString(der)}}})
	id, err := c.VerifyBearer(context.Background(), tok)
	if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "no key verifies the signature") {
		t.Fatalf("got %+v, %v; want no key verifying the signature", id, err)
	}
}
