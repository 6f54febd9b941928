package idp

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBearerRefusedBeforeAnyKeyFetch pins the order verifyAccessJWT keeps
// (accessTokenIssuer): a token whose typ is not an access token's, or
// whose issuer is not trusted, is refused before any key is fetched, so
// that an anonymous caller cannot make the gateway fetch a JWKS with a kid
// of its choosing. The last case shows the same token with an access
// token's typ and a trusted issuer does fetch: the count is observed.
func TestBearerRefusedBeforeAnyKeyFetch(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{AccessTokenAudience: "api"}, func(cfg *Config) {
		cfg.Audiences = []string{"api"}
	})
	attacker := oidctest.NewUnpublishedKey(t, "unknown-kid", "ES256")
	now := clk.Now().Unix()
	sign := func(iss, typ string) string {
		return p.Sign(map[string]any{"iss": iss, "sub": "alice", "aud": "api", "iat": now, "exp": now + 3600},
			oidctest.SignOptions{Key: attacker, KID: "unknown-kid", Typ: typ})
	}
	for _, tc := range []struct{ name, token string }{
		{"typ logout+jwt", sign(p.Issuer, "logout+jwt")},
		{"typ secevent+jwt", sign(p.Issuer, "secevent+jwt")},
		{"untrusted issuer", sign("https://evil.example", "at+jwt")},
	} {
		if _, err := c.VerifyBearer(context.Background(), tc.token); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v, want ErrInvalidToken", tc.name, err)
		}
		if n := p.Requests("/jwks"); n != 0 {
			t.Fatalf("%s: refused after %d JWKS fetches, want none", tc.name, n)
		}
	}
	if _, err := c.VerifyBearer(context.Background(), sign(p.Issuer, "at+jwt")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown kid of the trusted issuer: err = %v, want ErrInvalidToken", err)
	}
	if n := p.Requests("/jwks"); n == 0 {
		t.Errorf("an unknown kid of the trusted issuer fetched no JWKS: the count observes nothing")
	}
}
