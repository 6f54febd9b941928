package e2e

import (
	"net/http"
	"testing"

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
