package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestVerifyBearerEntraAppOnlyWithoutRole: Entra ID issues a client
// credentials token for an API to any application that has a service
// principal in the tenant, whether or not it was granted anything: a
// multi-tenant application of another publisher gets one there as soon as a
// user of the tenant consents to it, and its owner can then ask the
// tenant's token endpoint for an app-only token for the gateway's API
// (iss the tenant, aud the client ID). Such a token has no scp (no user
// delegated it) and no roles (no app role was assigned); Microsoft's
// guidance is that an API refuses it. Before, it passed every route that
// names nobody, as the service principal's oid. A delegated token (scp) or
// an app-only token with an assigned role (roles) still passes.
func TestVerifyBearerEntraAppOnlyWithoutRole(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Kind = "entra" })
	now := clk.Now()
	token := func(extra map[string]any) string {
		claims := map[string]any{"iss": p.Issuer, "sub": "5f1a", "oid": "5f1a", "aud": p.ClientID,
			"azp": "3c2b-other-publisher", "tid": "t", "ver": "2.0",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			claims[k] = v
		}
		return p.Sign(claims, oidctest.SignOptions{})
	}
	for name, extra := range map[string]map[string]any{
		"no scp or roles": nil,
		"empty roles":     {"roles": []any{}},
		"empty scp":       {"scp": ""},
		"idtyp app":       {"idtyp": "app"},
	} {
		id, err := c.VerifyBearer(context.Background(), token(extra))
		if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "app-only") {
			t.Errorf("%s: %+v, %v; want it refused as an app-only token without a role", name, id, err)
		}
	}
	for name, extra := range map[string]map[string]any{
		"delegated": {"scp": "Dashboards.Read"},
		"app role":  {"roles": []any{"Dashboards.Reader"}, "idtyp": "app"},
	} {
		if _, err := c.VerifyBearer(context.Background(), token(extra)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestVerifyBearerEntraV1IssuerOfTheTenant: an API whose app registration
// keeps accessTokenAcceptedVersion at its default gets v1.0 access tokens,
// issued by https://sts.windows.net/TENANT/ (here a server path /sts/TENANT),
// which an operator trusts with
// an extra issuer. Those are the same tenant's tokens, yet the checks made
// for Entra ID applied to the provider's v2.0 issuer only: an app-only
// token any service principal of the tenant can obtain, and a v1.0 ID token
// (its aud is the client ID, as the access tokens' may be), passed through
// the v1.0 issuer. A token of that issuer is the tenant's when its tid is
// the tenant the provider's issuer names.
func TestVerifyBearerEntraV1IssuerOfTheTenant(t *testing.T) {
	clk := newClock()
	v1 := oidctest.New(t, oidctest.Options{Now: clk.Now, IssuerPath: "/sts/tid-1"})
	p, c, _ := setup(t, oidctest.Options{IssuerPath: "/tid-1/v2.0"}, func(cfg *Config) {
		cfg.Kind = "entra"
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: v1.Issuer, Audiences: []string{"client", "api://dash"}}}
	})
	now := clk.Now()
	token := func(tid string, extra map[string]any) string {
		return signWith(v1, extra, map[string]any{"iss": v1.Issuer, "sub": "5f1a", "oid": "5f1a",
			"aud": "api://dash", "tid": tid, "ver": "1.0", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	for name, tc := range map[string]struct {
		tok  string
		want string
	}{
		"app-only, no role": {token("tid-1", map[string]any{"appid": "3c2b"}), "app-only"},
		"v1.0 ID token":     {token("tid-1", map[string]any{"aud": p.ClientID}), "an ID token"},
	} {
		if id, err := c.VerifyBearer(context.Background(), tc.tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v; want refused as %s", name, id, err, tc.want)
		}
	}
	for name, tok := range map[string]string{
		"delegated": token("tid-1", map[string]any{"appid": "3c2b", "scp": "Dashboards.Read"}),
		"app role":  token("tid-1", map[string]any{"appid": "3c2b", "roles": []any{"Dashboards.Reader"}}),
		// Another tenant's token is the extra issuer's to vouch for, as
		// any extra issuer's: routes restrict it with require_claims.
		"another tenant": token("tid-2", map[string]any{"appid": "3c2b"}),
	} {
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// signWith signs claims, with extra's claims set over them, as signer.
func signWith(signer *oidctest.Provider, extra, claims map[string]any) string {
	for k, v := range extra {
		claims[k] = v
	}
	return signer.Sign(claims, oidctest.SignOptions{})
}
