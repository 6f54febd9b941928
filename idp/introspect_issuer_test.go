package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// introspectionIssuers are the iss an introspection answer of provider p
// may carry: absent ("-"), p's own, and the ones that are not p's (a
// spelling of it, an unrelated issuer, an extra issuer); want is whether an
// identity the provider's rules admit is accepted with it.
func introspectionIssuers(p *oidctest.Provider, extra string) map[string]struct {
	iss  string
	want bool
} {
	return map[string]struct {
		iss  string
		want bool
	}{
		"absent":              {"-", true},
		"the provider's":      {p.Issuer, true},
		"trailing slash":      {p.Issuer + "/", false},
		"other case":          {strings.Replace(p.Issuer, "http://", "HTTP://", 1), false},
		"an unrelated issuer": {"https://elsewhere.example", false},
		"an extra issuer":     {extra, false},
	}
}

// TestIntrospectionIssuerHostedDomain: the provider's introspection
// endpoint vouches for its tokens; hosted_domain, which the operator set
// for the provider, held only when the answer named the provider's issuer
// exactly (or none). An answer naming another issuer, or the provider's
// spelled with a trailing slash or another case, was accepted under that
// issuer, and a Google account of another domain passed. Now such an
// answer is refused, and one without iss or with the provider's own has
// hosted_domain applied.
func TestIntrospectionIssuerHostedDomain(t *testing.T) {
	const ci = "https://ci.example.net"
	for _, hd := range []string{"acme.com", "other.example", ""} {
		user := &oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@" + cmpOr(hd, "gmail.com"),
			"email_verified": true}}
		if hd != "" {
			user.Claims["hd"] = hd
		}
		p, c, clk := setup(t, oidctest.Options{User: user}, func(cfg *Config) {
			cfg.Kind, cfg.HostedDomain = "google", "acme.com"
			cfg.ExtraIssuers = []ExtraIssuer{{Issuer: ci, Audiences: []string{"portcullis"}, JWKSURL: ci + "/jwks"}}
		})
		for name, tc := range introspectionIssuers(p, ci) {
			p.SetIntrospectionIssuer(tc.iss)
			tok := p.OpaqueToken("alice", p.ClientID, "read", clk.Now().Add(time.Hour))
			id, err := c.VerifyBearer(context.Background(), tok)
			if !tc.want || hd != "acme.com" {
				if !errors.Is(err, ErrInvalidToken) || id != nil {
					t.Errorf("hd %q, iss %s: accepted as issuer %q, %v", hd, name, idIssuer(id), err)
				}
				continue
			}
			if err != nil || id.Issuer != p.Issuer || id.Claims["iss"] != p.Issuer {
				t.Errorf("hd %q, iss %s: identity %+v, %v; want the provider's", hd, name, id, err)
			}
		}
	}
}

// TestIntrospectionIssuerEntraTenant: Entra's rules for its tenant's
// tokens (an app-only token must carry an app role; a token that names no
// client is an ID token) applied to JWT bearer tokens only: the provider's
// introspection endpoint vouched for an ungranted app-only token under the
// provider's issuer, and under any other issuer it named. Both are
// refused; a delegated token (scope) passes under the provider's issuer.
func TestIntrospectionIssuerEntraTenant(t *testing.T) {
	const v1 = "https://sts.windows.net/tid-1/"
	p, c, clk := setup(t, oidctest.Options{IssuerPath: "/tid-1/v2.0",
		User: &oidctest.User{Subject: "5f1a", Claims: map[string]any{"oid": "5f1a", "tid": "tid-1"}}},
		func(cfg *Config) {
			cfg.Kind = "entra"
			cfg.ExtraIssuers = []ExtraIssuer{{Issuer: v1, Audiences: []string{"client"}, JWKSURL: v1 + "jwks"}}
		})
	for name, tc := range introspectionIssuers(p, v1) {
		p.SetIntrospectionIssuer(tc.iss)
		tok := p.OpaqueToken("5f1a", p.ClientID, "", clk.Now().Add(time.Hour))
		if id, err := c.VerifyBearer(context.Background(), tok); !errors.Is(err, ErrInvalidToken) || id != nil {
			t.Errorf("app-only, iss %s: accepted as issuer %q, %v", name, idIssuer(id), err)
		}
		tok = p.OpaqueToken("5f1a", p.ClientID, "Dashboards.Read", clk.Now().Add(time.Hour))
		id, err := c.VerifyBearer(context.Background(), tok)
		if tc.want && (err != nil || id.Issuer != p.Issuer) {
			t.Errorf("delegated, iss %s: %+v, %v; want the provider's", name, id, err)
		}
		if !tc.want && (!errors.Is(err, ErrInvalidToken) || id != nil) {
			t.Errorf("delegated, iss %s: accepted as issuer %q, %v", name, idIssuer(id), err)
		}
	}
}

// idIssuer is id's issuer, "" for nil.
func idIssuer(id *portcullis.Identity) string {
	if id == nil {
		return ""
	}
	return id.Issuer
}
