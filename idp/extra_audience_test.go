package idp

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestVerifyBearerExtraIssuerAudiences: to the rules, an extra issuer's
// token is for the audiences that issuer is trusted with, whatever else
// its aud names; the provider's tokens keep theirs (the provider's word
// about its own audiences).
func TestVerifyBearerExtraIssuerAudiences(t *testing.T) {
	clk := newClock()
	p := oidctest.New(t, oidctest.Options{Now: clk.Now})
	x := oidctest.New(t, oidctest.Options{Now: clk.Now})
	c, err := New(Config{Kind: "oidc", Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry(), Audiences: []string{"api", "billing"},
		ExtraIssuers: []ExtraIssuer{{Issuer: x.Issuer, Audiences: []string{"machines", "jobs"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	now := clk.Now()
	token := func(signer *oidctest.Provider, aud any) string {
		return signer.Sign(map[string]any{"iss": signer.Issuer, "sub": "s", "aud": aud,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}, oidctest.SignOptions{})
	}
	for name, tc := range map[string]struct {
		tok  string
		want any
	}{
		"extra, one of its own":   {token(x, "machines"), "machines"},
		"extra, its own and more": {token(x, []string{"billing", "jobs", "other", "machines"}), []any{"jobs", "machines"}},
		"extra, its own only":     {token(x, []string{"machines", "jobs"}), []any{"machines", "jobs"}},
		"the provider's":          {token(p, []string{"api", "billing", "machines"}), []any{"api", "billing", "machines"}},
	} {
		id, err := c.VerifyBearer(context.Background(), tc.tok)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := id.Claims["aud"]; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: aud %#v, want %#v", name, got, tc.want)
		}
	}
}
