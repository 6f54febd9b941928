package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestVerifyBearerEntraRulesBindExtraTenants: an Entra ID tenant trusted
// as an extra issuer, next to a provider that is not Entra ID (or is
// another tenant), issues the tokens the provider's tenant does; Entra's
// rules bound only the provider's tenant, so the extra tenant's ID tokens
// (no nonce, at_hash or azp) and its app-only tokens with no role passed
// for access tokens. They now bind every Entra issuer: the v2.0 ones of
// each cloud and the v1.0 one. A non-Entra extra issuer keeps its tokens.
func TestVerifyBearerEntraRulesBindExtraTenants(t *testing.T) {
	for _, iss := range []string{"https://login.microsoftonline.com/tid-b/v2.0",
		"https://login.microsoftonline.us/tid-b/v2.0", "https://sts.windows.net/tid-b/"} {
		t.Run(iss, func(t *testing.T) { testEntraRulesBindExtraTenant(t, iss) })
	}
}

func testEntraRulesBindExtraTenant(t *testing.T, iss string) {
	clk := newClock()
	p := oidctest.New(t, oidctest.Options{Now: clk.Now})
	tenant := oidctest.New(t, oidctest.Options{Now: clk.Now, Issuer: iss})
	plain := oidctest.New(t, oidctest.Options{Now: clk.Now})
	c, err := New(Config{Kind: "oidc", Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry(),
		ExtraIssuers: []ExtraIssuer{{Issuer: iss, Audiences: []string{"api-app"}, JWKSURL: tenant.Server.URL + "/jwks"},
			{Issuer: plain.Issuer, Audiences: []string{"api-app"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	now := clk.Now()
	token := func(signer *oidctest.Provider, extra map[string]any) string {
		return signWith(signer, extra, map[string]any{"iss": signer.Issuer, "sub": "5f1a", "oid": "5f1a",
			"aud": "api-app", "tid": "tid-b", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	for name, tc := range map[string]struct{ tok, want string }{
		"ID token":          {token(tenant, map[string]any{"email": "a@partner.example"}), "an ID token"},
		"app-only, no role": {token(tenant, map[string]any{"azp": "3c2b-other-publisher"}), "app-only"},
		"v1.0 app-only":     {token(tenant, map[string]any{"appid": "3c2b-other-publisher"}), "app-only"},
	} {
		if id, err := c.VerifyBearer(context.Background(), tc.tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v; want refused as %s", name, id, err, tc.want)
		}
	}
	for name, tok := range map[string]string{
		"app role":           token(tenant, map[string]any{"azp": "3c2b", "roles": []any{"Jobs.Run"}}),
		"delegated":          token(tenant, map[string]any{"appid": "3c2b", "scp": "Jobs.Read"}),
		"not Entra's tokens": token(plain, nil),
	} {
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
