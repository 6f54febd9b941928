package idp

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestJWKSWithTooManyKeysRefused: every signature the gateway checks is
// checked against each key of the issuer's JWKS its kid and alg name (all
// of them for a token without a kid), and any client can send such a
// token. A JWKS of 1,400 keys (1 MiB) made one forged token cost a second
// of CPU. A set of more than 64 signature keys is now refused, as a failed
// fetch; 64 are used.
func TestJWKSWithTooManyKeysRefused(t *testing.T) {
	for _, tc := range []struct {
		extra int // beside the provider's own RSA and EC key
		ok    bool
	}{{62, true}, {63, false}, {200, false}} {
		t.Run(fmt.Sprint(tc.extra+2, " keys"), func(t *testing.T) {
			extra := oidctest.JunkRSAKeys(t, tc.extra, "")
			p, c, _ := setup(t, oidctest.Options{JWTAccessTokens: true, ExtraJWKS: extra}, nil)
			_, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", nil))
			if tc.ok && err != nil {
				t.Fatalf("a set of 64 keys: %v", err)
			}
			if tc.ok {
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "more than 64") {
				t.Fatalf("a set of %d keys: got %v, want it refused for its size", tc.extra+2, err)
			}
		})
	}
}

// TestJWKSIgnoresOversizedAndOffCurveKeys pins what docs/security.md says
// of the keys a set may hold: an RSA key over 4096 bits (a costlier check
// per token) and an EC point off its curve are ignored, not used; a
// 4096-bit key is used.
func TestJWKSIgnoresOversizedAndOffCurveKeys(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	rsaKey := func(bits uint) string {
		n := new(big.Int).Lsh(big.NewInt(1), bits-1)
		return fmt.Sprintf(`{"kty":"RSA","n":%q,"e":"AQAB"}`, enc(n.Add(n, big.NewInt(1)).Bytes()))
	}
	one := enc(bytes.Repeat([]byte{1}, 32))
	offCurve := fmt.Sprintf(`{"kty":"EC","crv":"P-256","x":%q,"y":%q}`, one, one)
	keys, err := parseJWKS([]byte(`{"keys":[` + rsaKey(4097) + `,` + offCurve + `,` + rsaKey(4096) + `]}`))
	if err != nil || len(keys) != 1 || keys[0].Key.(*rsa.PublicKey).N.BitLen() != 4096 {
		t.Fatalf("got %d keys (%v), want the 4096-bit one only", len(keys), err)
	}
}
