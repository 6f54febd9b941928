package idp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBearerTwoIssuersCrossed: with the provider and an extra issuer
// trusted, a token is checked only with the keys and audiences of the
// issuer its iss names, whatever its kid says (a token signed with the
// other's key under a kid this one knows), and a JWT that fails is never
// introspected instead. Each token is refused for the reason its case names;
// the extra issuer signs with an RSA key of its own, then with an EC key.
func TestBearerTwoIssuersCrossed(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) { twoIssuersCrossed(t, alg) })
	}
}

func twoIssuersCrossed(t *testing.T, alg string) {
	ci := oidctest.New(t, oidctest.Options{Alg: alg, Now: newClock().Now})
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: ci.Issuer, Audiences: []string{"portcullis"}}}
	})
	now := clk.Now().Unix()
	claims := func(iss, aud string) map[string]any {
		return map[string]any{"iss": iss, "sub": "alice", "aud": aud, "iat": now, "exp": now + 600}
	}
	noKey := func(kid string) string { return fmt.Sprintf("no key verifies the signature (kid %q)", kid) }
	for _, tc := range []struct{ name, token, reason string }{
		{"provider-signed, extra iss", p.Sign(claims(ci.Issuer, "portcullis"), oidctest.SignOptions{}), noKey(p.Key().KID)},
		{"provider-signed under the extra's kid", p.Sign(claims(ci.Issuer, "portcullis"), oidctest.SignOptions{KID: ci.Key().KID}), noKey(ci.Key().KID)},
		{"extra-signed, provider iss", ci.Sign(claims(p.Issuer, p.ClientID), oidctest.SignOptions{}), noKey(ci.Key().KID)},
		{"extra-signed under the provider's kid", ci.Sign(claims(p.Issuer, p.ClientID), oidctest.SignOptions{KID: p.Key().KID}), noKey(p.Key().KID)},
		{"extra's token for provider's aud", ci.Sign(claims(ci.Issuer, p.ClientID), oidctest.SignOptions{}), `audience ["client"] is not one of ["portcullis"]`},
		{"provider's token for extra's aud", p.Sign(claims(p.Issuer, "portcullis"), oidctest.SignOptions{}), `audience ["portcullis"] is not one of`},
		{"extra iss with trailing slash", ci.Sign(claims(ci.Issuer+"/", "portcullis"), oidctest.SignOptions{}), fmt.Sprintf("issuer %q is not trusted", ci.Issuer+"/")},
		{"provider iss in upper case scheme", p.Sign(claims("HTTP"+p.Issuer[4:], p.ClientID), oidctest.SignOptions{}), "HTTP" + p.Issuer[4:] + `" is not trusted`},
		{"untrusted issuer (no introspection)", oidctest.New(t, oidctest.Options{}).Sign(claims("https://x.example", p.ClientID), oidctest.SignOptions{}), `issuer "https://x.example" is not trusted`},
	} {
		before := p.Requests("/introspect")
		id, err := c.VerifyBearer(context.Background(), tc.token)
		if !errors.Is(err, ErrInvalidToken) || id != nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: identity %+v, err %v; want the reason %s", tc.name, id, err, tc.reason)
		}
		if n := p.Requests("/introspect"); n != before {
			t.Errorf("%s: a JWT that failed was introspected (%d calls)", tc.name, n-before)
		}
	}
}

// TestBearerScopeSpellings: scopes are read from scope (a string split on
// spaces, RFC 6749 §3.3), else scp (Entra's string, Okta's array). A scope
// claim of another type grants nothing and does not fall back to scp, a
// comma is part of a scope, and case is kept: each is no scope a route
// names, never a wider grant.
func TestBearerScopeSpellings(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{AccessTokenAudience: "api"}, func(cfg *Config) { cfg.Audiences = []string{"api"} })
	for _, tc := range []struct {
		name  string
		extra map[string]any
		want  []string
	}{
		{"scope as array", map[string]any{"scope": []string{"admin"}}, nil},
		{"scope array beside scp", map[string]any{"scope": []string{"admin"}, "scp": "admin"}, nil},
		{"scope before scp", map[string]any{"scope": "read", "scp": []string{"admin"}}, []string{"read"}},
		{"comma separated", map[string]any{"scope": "read,admin"}, []string{"read,admin"}},
		{"case and duplicates", map[string]any{"scope": "Admin read read"}, []string{"Admin", "read", "read"}},
		{"scp of numbers", map[string]any{"scp": []any{1, "read"}}, nil},
	} {
		id, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", tc.extra))
		if err != nil || !slices.Equal(id.Scopes, tc.want) {
			t.Errorf("%s: scopes %q, err %v; want %q", tc.name, idScopes(id), err, tc.want)
		}
	}
}

func idScopes(id *portcullis.Identity) []string {
	if id == nil {
		return nil
	}
	return id.Scopes
}
