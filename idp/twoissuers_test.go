package idp

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBearerTwoIssuersCrossed: with the provider and an extra issuer
// trusted, a token is checked only with the keys and audiences of the
// issuer its iss names, whatever its kid says (a token signed with the
// other's key under a kid this one knows), and a JWT that fails is never introspected instead.
func TestBearerTwoIssuersCrossed(t *testing.T) {
	// Its own key: the test providers' RSA key is one key shared by all.
	ci := oidctest.New(t, oidctest.Options{Alg: "ES256", Now: newClock().Now})
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: ci.Issuer, Audiences: []string{"portcullis"}}}
	})
	now := clk.Now().Unix()
	claims := func(iss, aud string) map[string]any {
		return map[string]any{"iss": iss, "sub": "alice", "aud": aud, "iat": now, "exp": now + 600}
	}
	asP := oidctest.SignOptions{KID: p.Key().KID} // ci's key under the provider's kid
	for name, tok := range map[string]string{
		"provider-signed, extra iss":          p.Sign(claims(ci.Issuer, "portcullis"), oidctest.SignOptions{KID: ci.Key().KID}),
		"extra-signed, provider iss":          ci.Sign(claims(p.Issuer, p.ClientID), asP),
		"extra's token for provider's aud":    ci.Sign(claims(ci.Issuer, p.ClientID), oidctest.SignOptions{}),
		"provider's token for extra's aud":    p.Sign(claims(p.Issuer, "portcullis"), oidctest.SignOptions{}),
		"extra iss with trailing slash":       ci.Sign(claims(ci.Issuer+"/", "portcullis"), oidctest.SignOptions{}),
		"provider iss in upper case scheme":   p.Sign(claims("HTTP"+p.Issuer[4:], p.ClientID), oidctest.SignOptions{}),
		"untrusted issuer (no introspection)": oidctest.New(t, oidctest.Options{}).Sign(claims("https://x.example", p.ClientID), oidctest.SignOptions{}),
	} {
		before := p.Requests("/introspect")
		if id, err := c.VerifyBearer(context.Background(), tok); !errors.Is(err, ErrInvalidToken) || id != nil {
			t.Errorf("%s: identity %+v, err %v", name, id, err)
		}
		if n := p.Requests("/introspect"); n != before {
			t.Errorf("%s: a JWT that failed was introspected (%d calls)", name, n-before)
		}
	}
}
