package idp

import (
	"context"
	"errors"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestEmailVerifiedIsOfTheEmailClaim: email_verified is the provider's word
// about its email claim (OpenID Connect Core 5.1). With email_claim naming
// another claim, one that holds another address (a username the user chose
// to look like the CEO's address) was the user's verified address, for the
// sign-in, refresh and bearer tokens alike; it counts only where the email
// claim holds the same address.
func TestEmailVerifiedIsOfTheEmailClaim(t *testing.T) {
	chosen := map[string]any{"email": "mallory@users.example", "email_verified": true, "preferred_username": "ceo@acme.example"}
	same := map[string]any{"email": "ann@acme.example", "email_verified": true, "preferred_username": "ann@acme.example"}
	tests := []struct {
		name       string
		emailClaim string
		claims     map[string]any
		want       bool
	}{
		{"another address in email_claim", "preferred_username", chosen, false},
		{"the same address in email_claim", "preferred_username", same, true},
		{"a dotted email_claim", "profile.mail", map[string]any{"email": "m@users.example", "email_verified": true,
			"profile": map[string]any{"mail": "ceo@acme.example"}}, false},
		{"no email claim to vouch for", "preferred_username", map[string]any{"email_verified": true, "preferred_username": "ceo@acme.example"}, false},
		{"the default email_claim", "", chosen, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "m-1", Claims: tt.claims}},
				func(cfg *Config) { cfg.EmailClaim = tt.emailClaim })
			_, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if id.EmailVerified != tt.want {
				t.Errorf("sign-in: %q verified %v, want %v", id.Email, id.EmailVerified, tt.want)
			}
			bid, err := c.VerifyBearer(context.Background(), p.AccessToken("m-1", tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if bid.EmailVerified != tt.want {
				t.Errorf("bearer token: %q verified %v, want %v", bid.Email, bid.EmailVerified, tt.want)
			}
		})
	}
}

// TestEmailClaimAsUserNeedsItsOwnVerification: with user_claim equal to
// email_claim, an address the email claim's verification does not speak
// for is not the user, as an unverified one is not.
func TestEmailClaimAsUserNeedsItsOwnVerification(t *testing.T) {
	claims := map[string]any{"email": "mallory@users.example", "email_verified": true, "upn": "ceo@acme.example"}
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "m-1", Claims: claims}},
		func(cfg *Config) { cfg.EmailClaim, cfg.UserClaim = "upn", "upn" })
	if _, id, err := login(t, c); !errors.Is(err, ErrUnverifiedEmail) {
		t.Errorf("sign-in as %+v (%v), want ErrUnverifiedEmail", id, err)
	}
	if id, err := c.VerifyBearer(context.Background(), p.AccessToken("m-1", claims)); err == nil {
		t.Errorf("bearer token accepted as %q", id.Subject)
	}
}

// TestUserClaimEmailIsTheEmailClaimsAddress: with user_claim = "email" the
// user is the email claim's address, which email_verified speaks of; an
// email_claim naming another claim with another address leaves that
// address unverified without refusing the user.
func TestUserClaimEmailIsTheEmailClaimsAddress(t *testing.T) {
	claims := map[string]any{"email": "ann@acme.example", "email_verified": true, "upn": "ann.other@acme.example"}
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "a-1", Claims: claims}},
		func(cfg *Config) { cfg.EmailClaim, cfg.UserClaim = "upn", "email" })
	_, id, err := login(t, c)
	if err != nil {
		t.Fatalf("sign-in of a verified email as the user: %v", err)
	}
	if id.Subject != "ann@acme.example" || id.EmailVerified {
		t.Errorf("sign-in: user %q, email %q verified %v; want ann@acme.example, the upn unverified", id.Subject, id.Email, id.EmailVerified)
	}
	unverified := map[string]any{"email": "ann@acme.example", "email_verified": false, "upn": "ann@acme.example"}
	if id, err := c.VerifyBearer(context.Background(), p.AccessToken("a-1", unverified)); err == nil {
		t.Errorf("bearer token with an unverified email as the user accepted as %q", id.Subject)
	}
}
