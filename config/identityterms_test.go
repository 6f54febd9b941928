package config

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/session"
)

// TestIdentityTermsAreResolved: sessions are bound to the terms on which
// the provider's identity is read (identityTerms), compared as the gateway
// uses them: writing out a documented default is no change and signs
// nobody out, while a change of the terms does.
func TestIdentityTermsAreResolved(t *testing.T) {
	gateway := func(provider string) session.CookieConfig {
		doc := strings.Replace(base, "[provider]\n", "[provider]\n"+provider+"\n", 1)
		return mustParse(t, t.TempDir(), doc, nil).Cookie
	}
	implicit := gateway("")
	tests := []struct {
		name     string
		provider string
		shared   bool
	}{
		{"defaults written out", `kind = "oidc"
user_claim = "sub"
email_claim = "email"
groups_claim = "groups"
scopes = ["profile", "openid", "email"]`, true},
		{"another groups claim", `groups_claim = "roles"`, false},
		{"another user claim", `user_claim = "email"`, false},
		{"a scope more", `scopes = ["openid", "email", "profile", "groups"]`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := opensSession(t, implicit, gateway(tc.provider)); got != tc.shared {
				t.Errorf("a session sealed without the keys opens with %q: %v, want %v", tc.provider, got, tc.shared)
			}
		})
	}
}
