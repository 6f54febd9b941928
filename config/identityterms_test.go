package config

import (
	"encoding/json"
	"slices"
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

// TestIdentityTermsEndSessionsOfAnEmailClaimVerifiedByAnother: until
// email_verified counted only for the email claim's address, a session of a
// deployment whose email_claim names another claim may hold an address
// nobody verified (TestEmailVerifiedIsOfTheEmailClaim in package idp).
// Such a session, sealed under the terms as they were written then, no
// longer opens; with the default email_claim nobody is signed out.
func TestIdentityTermsEndSessionsOfAnEmailClaimVerifiedByAnother(t *testing.T) {
	for _, tc := range []struct {
		provider string
		opens    bool
	}{{``, true}, {`email_claim = "email"`, true}, {`email_claim = "preferred_username"`, false}} {
		doc := strings.Replace(base, "[provider]\n", "[provider]\n"+tc.provider+"\n", 1)
		now := mustParse(t, t.TempDir(), doc, nil)
		before := now.Cookie
		before.Binding = strings.Replace(now.Cookie.Binding, identityTerms(now.Provider), termsBefore(now), 1)
		if got := opensSession(t, before, now.Cookie); got != tc.opens {
			t.Errorf("%q: a session sealed under the earlier terms opens: %v, want %v", tc.provider, got, tc.opens)
		}
	}
}

// termsBefore is identityTerms as it was written before email_verified
// counted only for the email claim's address.
func termsBefore(cfg *Config) string {
	p := cfg.Provider
	scopes := slices.Sorted(slices.Values(p.Scopes))
	terms, _ := json.Marshal([]any{p.Kind, p.UserClaim, p.EmailClaim, p.GroupsClaim,
		p.AssumeEmailVerified, p.HostedDomain, len(p.GoogleServiceAccountJSON) > 0,
		scopes, p.AuthParams["acr_values"], p.AuthParams["max_age"]})
	return "identity " + string(terms)
}
