package config

import (
	"fmt"
	"strings"
	"testing"
)

// msaIssuer is the issuer of personal Microsoft accounts (outlook.com,
// hotmail.com, any address anyone registers): the tenant that Entra ID's
// "consumers" alias resolves to, whose ID is the same in every directory.
const msaIssuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"

// TestOpenSignInPublicProviders: a route that names nobody lets in every
// account the provider signs in. The warning named Google (without
// hosted_domain) and GitHub only, while GitLab.com, where anyone registers
// (docs/providers/gitlab.md; an application made in a group's settings
// does not restrict who signs in), and Entra ID's tenant of personal
// Microsoft accounts, which "consumers" resolves to and check refuses by
// that name, passed as "OK". A self-managed GitLab and an organisation's
// own tenant stay quiet.
func TestOpenSignInPublicProviders(t *testing.T) {
	const entraScopes = `scopes = ["openid", "email", "profile", "offline_access"]` + "\n"
	cases := []struct{ name, provider, who string }{
		{"gitlab.com", `issuer = "https://gitlab.com"`, "any GitLab.com user"},
		{"gitlab.com with a slash", `issuer = "https://gitlab.com/"`, "any GitLab.com user"},
		{"personal Microsoft accounts", "kind = \"entra\"\nissuer = \"" + msaIssuer + "\"", "any personal Microsoft account"},
		{"personal Microsoft accounts as oidc", "issuer = \"" + msaIssuer + "\"\n" + entraScopes, "any personal Microsoft account"},
		{"self-managed gitlab", `issuer = "https://gitlab.acme.com"`, ""},
		{"own tenant", "kind = \"entra\"\nissuer = \"https://login.microsoftonline.com/3f2c8a51-7d4e-4b9a-9c61-2e8f0d7b5a14/v2.0\"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := tc.provider + "\nclient_id = \"c\""
			cfg := mustParse(t, t.TempDir(), provider(lines), nil)
			got := warningsFrom(cfg)
			want := []string{}
			if tc.who != "" { // the route's line: base's, moved by the provider's lines
				want = append(want, fmt.Sprintf("cfg.toml:%d: routes[0]: warning: ", 14+strings.Count(lines, "\n"))+tc.who+
					" can sign in and reach this route: restrict it with allow_groups, allow_emails or allow_email_domains")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("warnings %q, want %q", got, want)
			}
		})
	}
}
