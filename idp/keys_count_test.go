package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestJWKSWithTooManyKeysRefused: every signature the gateway checks is
// checked against each key of the issuer's JWKS its kid and alg name (all
// of them for a token without a kid), and any client can send such a
// token. A JWKS of 1,400 keys (1 MiB) made one forged token cost a second
// of CPU. A set of more than 32 signature keys is now refused, as a failed
// fetch; 32 are used.
func TestJWKSWithTooManyKeysRefused(t *testing.T) {
	for _, tc := range []struct {
		extra int // beside the provider's own RSA and EC key
		ok    bool
	}{{30, true}, {31, false}, {200, false}} {
		t.Run(fmt.Sprint(tc.extra+2, " keys"), func(t *testing.T) {
			extra := oidctest.JunkRSAKeys(t, tc.extra, "")
			p, c, _ := setup(t, oidctest.Options{JWTAccessTokens: true, ExtraJWKS: extra}, nil)
			_, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", nil))
			if tc.ok && err != nil {
				t.Fatalf("a set of 32 keys: %v", err)
			}
			if tc.ok {
				return
			}
			if err == nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "more than 32") {
				t.Fatalf("a set of %d keys: got %v, want it refused for its size", tc.extra+2, err)
			}
		})
	}
}
