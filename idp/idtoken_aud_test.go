package idp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// idTokenWith signs an ID token for alice as the token endpoint would
// (iss, sub, fresh iat and exp, nonce "nonce-1"), with aud and azp as
// given (azp "" leaves it out).
func idTokenWith(p *oidctest.Provider, clk *clock, aud any, azp string) string {
	now := clk.Now().Unix()
	c := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": aud, "iat": now, "exp": now + 3600, "nonce": "nonce-1"}
	if azp != "" {
		c["azp"] = azp
	}
	return p.Sign(c, oidctest.SignOptions{})
}

// idTokenAudienceCases are ID tokens of the client "client" (the test
// provider's) and whether they are accepted.
var idTokenAudienceCases = []struct {
	name      string
	aud       any
	azp       string
	audiences []string // provider.audiences; nil = default, the client ID
	errSub    string   // "" = accepted
}{
	{name: "client alone", aud: "client"},
	{name: "client in an array", aud: []any{"client"}},
	{name: "client alone, azp client", aud: "client", azp: "client"},
	{name: "not the client", aud: "another-client", errSub: "expected audience"},
	{name: "azp another client", aud: "client", azp: "another-client", errSub: "azp"},
	{name: "several, no azp", aud: []any{"client", "api"}, errSub: "no azp"},
	{name: "untrusted extra audience", aud: []any{"client", "another-client"}, azp: "client", errSub: "not trusted"},
	{name: "extra audience in provider.audiences", aud: []any{"client", "api"}, azp: "client", audiences: []string{"client", "api"}},
	{name: "one trusted extra, one not", aud: []any{"api", "client", "x"}, azp: "client", audiences: []string{"client", "api"}, errSub: "not trusted"},
}

// TestIDTokenAudiences: OpenID Connect Core §3.1.3.7 steps 3-5 at the code
// exchange. The ID token must name the client among its audiences; one
// with several must name the client in azp; an azp must be the client; and
// one listing an audience the client does not trust (neither the client ID
// nor one of provider.audiences) is refused. That last one was accepted:
// an ID token for ["client", "another-client"] with azp "client" signed
// the user in, and its aud passed a route's require_claims
// { aud = "another-client" } meant for that client's tokens.
func TestIDTokenAudiences(t *testing.T) {
	for _, tt := range idTokenAudienceCases {
		t.Run(tt.name, func(t *testing.T) {
			p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Audiences = tt.audiences })
			p.SetTokenField("id_token", `"`+idTokenWith(p, clk, tt.aud, tt.azp)+`"`)
			_, id, err := login(t, c)
			if tt.errSub == "" {
				if err != nil || id == nil || id.Subject != "alice" {
					t.Fatalf("err = %v, id = %+v; want alice signed in", err, id)
				}
				return
			}
			if err == nil || id != nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Fatalf("err = %v, id = %+v; want refused with %q", err, id, tt.errSub)
			}
		})
	}
}

// TestRefreshedIDTokenAudiences: the ID token of a refresh is held to the
// same audience rules (OpenID Connect Core §12.2: its aud is the sign-in's,
// and the rules of the sign-in apply); one the gateway refuses ends the
// session (ErrInvalidGrant).
func TestRefreshedIDTokenAudiences(t *testing.T) {
	for _, tt := range idTokenAudienceCases {
		t.Run(tt.name, func(t *testing.T) {
			p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Audiences = tt.audiences })
			toks, prev, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			p.SetTokenField("id_token", `"`+idTokenWith(p, clk, tt.aud, tt.azp)+`"`)
			_, id, err := c.Refresh(context.Background(), toks.RefreshToken, prev)
			if tt.errSub == "" {
				if err != nil || id == nil || id.Subject != "alice" {
					t.Fatalf("err = %v, id = %+v; want alice refreshed", err, id)
				}
				return
			}
			if !errors.Is(err, ErrInvalidGrant) || id != nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Fatalf("err = %v, id = %+v; want ErrInvalidGrant with %q", err, id, tt.errSub)
			}
		})
	}
}
