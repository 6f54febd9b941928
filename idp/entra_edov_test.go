package idp

import (
	"testing"
)

// TestAssumeEmailVerifiedYieldsToXmsEdov: Entra ID sends no email_verified,
// so its operators set assume_email_verified; its email claim is an
// editable attribute whose domain the user's tenant need not own (the
// "nOAuth" weakness). Microsoft's optional claim xms_edov says whether the
// domain's owner was verified. Before, a token that said xms_edov false,
// Microsoft's own word that the address is unverified, was assumed verified
// and matched allow_emails. Only a true xms_edov (or none) leaves the
// assumption standing; it never makes an address verified on its own.
func TestAssumeEmailVerifiedYieldsToXmsEdov(t *testing.T) {
	for _, tc := range []struct {
		name     string
		assume   bool
		edov     any
		verified bool
	}{
		{"false", true, false, false},
		{"string 0", true, "0", false},
		{"null", true, nil, false},
		{"true", true, true, true},
		{"true without assume_email_verified", false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{Issuer: "https://login.microsoftonline.com/t/v2.0", ClientID: "client",
				Kind: "entra", AssumeEmailVerified: tc.assume})
			if err != nil {
				t.Fatal(err)
			}
			claims := map[string]any{"sub": "u1", "email": "ceo@acme.example", "xms_edov": tc.edov}
			id, err := c.identity(claims, "https://login.microsoftonline.com/t/v2.0")
			if err != nil {
				t.Fatal(err)
			}
			if id.EmailVerified != tc.verified {
				t.Errorf("xms_edov %#v: EmailVerified = %v, want %v", tc.edov, id.EmailVerified, tc.verified)
			}
		})
	}
}
