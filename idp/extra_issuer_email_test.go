package idp

import (
	"context"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAssumeEmailVerifiedIsTheProvidersOnly: assume_email_verified says the
// operator trusts the addresses of its provider, which omits email_verified
// (Entra ID). It applied to the bearer tokens of every extra issuer as
// well, whose addresses nobody vetted: a partner's Entra tenant trusted for
// machine tokens, whose admin sets any user's mail attribute (Entra does
// not verify it), issued a token with email ceo@acme.example and no
// email_verified, and allow_emails = ["ceo@acme.example"] (or user_claim =
// "email") took it as the CEO.
func TestAssumeEmailVerifiedIsTheProvidersOnly(t *testing.T) {
	partner := oidctest.New(t, oidctest.Options{Now: newClock().Now})
	p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.AssumeEmailVerified = true
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: partner.Issuer, Audiences: []string{"api://portcullis"}}}
	})
	forged := partner.AccessToken("partner-user", map[string]any{"aud": "api://portcullis", "email": "ceo@acme.example"})
	id, err := c.VerifyBearer(context.Background(), forged)
	if err != nil {
		t.Fatalf("the partner's token is valid: %v", err)
	}
	if id.EmailVerified {
		t.Errorf("an extra issuer's unverified email %q counts as verified", id.Email)
	}
	// Stated verified by the extra issuer, it counts.
	stated := partner.AccessToken("partner-user-2", map[string]any{"aud": "api://portcullis",
		"email": "bob@partner.example", "email_verified": true})
	if id, err := c.VerifyBearer(context.Background(), stated); err != nil || !id.EmailVerified {
		t.Errorf("an extra issuer's verified email: %+v %v", id, err)
	}
	// The provider's own tokens keep the setting.
	own := p.AccessToken("alice", map[string]any{"email": "alice@acme.example"})
	if id, err := c.VerifyBearer(context.Background(), own); err != nil || !id.EmailVerified {
		t.Errorf("the provider's token without email_verified: %+v %v", id, err)
	}

	// With user_claim = "email" an unverified address is not the user.
	_, ce, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.AssumeEmailVerified = true
		cfg.UserClaim = "email"
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: partner.Issuer, Audiences: []string{"api://portcullis"}}}
	})
	if id, err := ce.VerifyBearer(context.Background(), forged); err == nil {
		t.Errorf("an extra issuer's unverified email is the user: %q", id.Subject)
	}
}
