package idp

import (
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestUserinfoCannotShadowIDTokenClaim: userinfo only adds the claims the
// ID token lacks (OIDC Core 5.3), but a claim path is looked up whole
// before it is walked ("https://example.com/groups" is one key), so a
// userinfo member literally named "realm_access.roles", which the ID token
// does not have as a key, was merged in and then found before the ID
// token's realm_access.roles: userinfo replaced the signed groups, roles
// or email the ID token stated.
func TestUserinfoCannotShadowIDTokenClaim(t *testing.T) {
	_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice",
		Claims: map[string]any{
			"email": "alice@example.com", "email_verified": true,
			"realm_access": map[string]any{"roles": []string{"user"}},
			"profile":      map[string]any{"tenant": "acme"},
		},
		UserinfoClaims: map[string]any{
			"realm_access.roles": []string{"admin"},
			"profile.tenant":     "globex",
			"nickname":           "al",
		}}}, func(cfg *Config) {
		cfg.GroupsClaim = "realm_access.roles"
		cfg.HeaderClaims = []string{"profile.tenant"}
	})
	_, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{"user"}) {
		t.Errorf("groups = %q, want the ID token's [user]", id.Groups)
	}
	if v, _ := id.Claim("profile.tenant"); v != "acme" {
		t.Errorf("profile.tenant = %v, want the ID token's acme", v)
	}
	if v, _ := id.Claim("nickname"); v != "al" {
		t.Errorf("a claim only userinfo has was not added: nickname = %v", v)
	}
}
