package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestGitLabAndKeycloakGroups runs the configurations documented in
// docs/providers/gitlab.md and keycloak.md (the generic OIDC provider with
// groups_claim) against tokens shaped like those providers'.
func TestGitLabAndKeycloakGroups(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		keys   string // [provider] keys of the guide, besides issuer and client
		claims map[string]any
		ui     map[string]any // userinfo-only claims
		allow  string         // a group the user has
		deny   string         // one they lack
	}{
		{"gitlab groups_direct", `groups_claim = "groups_direct"`,
			map[string]any{"email": "ann@acme.com", "email_verified": true, "groups_direct": []any{"acme/platform"}},
			map[string]any{"groups": []any{"acme/platform", "acme/platform/sre"}},
			"acme/platform", "acme/platform/sre"},
		{"gitlab groups (userinfo)", ``,
			map[string]any{"email": "ann@acme.com", "email_verified": true, "groups_direct": []any{"acme/platform"}},
			map[string]any{"groups": []any{"acme/platform", "acme/platform/sre"}},
			"acme/platform/sre", "acme"},
		{"keycloak realm roles", `groups_claim = "realm_access.roles"`,
			map[string]any{"email": "ann@acme.com", "email_verified": true,
				"realm_access":    map[string]any{"roles": []any{"offline_access", "sre"}},
				"resource_access": map[string]any{"portcullis": map[string]any{"roles": []any{"dashboard-admin"}}}},
			nil, "sre", "dashboard-admin"},
		{"keycloak client roles", `groups_claim = "resource_access.portcullis.roles"`,
			map[string]any{"email": "ann@acme.com", "email_verified": true,
				"realm_access":    map[string]any{"roles": []any{"sre"}},
				"resource_access": map[string]any{"portcullis": map[string]any{"roles": []any{"dashboard-admin"}}}},
			nil, "dashboard-admin", "sre"},
		{"keycloak group mapper", ``,
			map[string]any{"email": "ann@acme.com", "email_verified": true, "groups": []any{"/acme/sre"}},
			nil, "/acme/sre", "/acme"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "u-1", Claims: tc.claims, UserinfoClaims: tc.ui}})
			up := newUpstream(t)
			gw := startGateway(t, pickAddrs(t), tomlConfig{
				Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + tc.keys + "\n",
				Upstream: up.URL,
				Routes:   directoryRoutes(tc.allow, tc.deny),
			}.String())
			c := browser(t)
			if status, body, _ := get(t, c, gw.URL+"/eng/"); status != 200 {
				t.Fatalf("allow_groups = [%q]: %d\n%s", tc.allow, status, body)
			}
			if status, _, _ := get(t, c, gw.URL+"/ops/"); status != http.StatusForbidden {
				t.Errorf("allow_groups = [%q]: %d, want 403", tc.deny, status)
			}
		})
	}
}

// TestRefreshEndsRemovedGroup: a user removed from their last group gets
// refreshed ID tokens without the groups claim (Keycloak, GitLab and Entra
// ID leave an empty one out). The refresh ends the access it gave, instead
// of keeping the sign-in's groups until session.lifetime.
func TestRefreshEndsRemovedGroup(t *testing.T) {
	t.Parallel()
	claims := map[string]any{"email": "ann@acme.com", "email_verified": true}
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 2 * time.Second,
		User: &oidctest.User{Subject: "u-1", Claims: map[string]any{
			"email": "ann@acme.com", "email_verified": true, "groups": []any{"eng"}}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Session:  "refresh_margin = \"1s\"\n",
		Upstream: up.URL,
		Routes:   directoryRoutes("eng", "ops"),
	}.String())
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/eng/"); status != 200 {
		t.Fatalf("in eng: %d\n%s", status, body)
	}
	loggedIn := time.Now()
	p.SetUser(oidctest.User{Subject: "u-1", Claims: claims})
	sleepUntil(loggedIn.Add(1200 * time.Millisecond)) // within the margin: the next request refreshes
	tokens := p.Requests("/token")
	if status, _, _ := get(t, c, gw.URL+"/eng/"); status != http.StatusForbidden {
		t.Errorf("removed from eng, after a refresh: %d, want 403", status)
	}
	if p.Requests("/token") == tokens {
		t.Error("no refresh happened")
	}
}
