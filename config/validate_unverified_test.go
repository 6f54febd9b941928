package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestEntraEmailRuleWarning: Entra ID sends no email_verified, so with
// assume_email_verified off an allow_emails or allow_email_domains route
// refuses every user who signs in with it ("email not verified"): the
// oauth2-proxy migration's email_domains and the habit of routing on the
// company's domain gave exactly that, and check said OK. Check warns at the
// rule's key.
func TestEntraEmailRuleWarning(t *testing.T) {
	const entra = `issuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"` + "\nclient_id = \"c\"\n"
	const want = `Entra ID sends no email_verified`
	cases := []struct{ name, lines, route, want string }{
		{"kind entra, domains", "kind = \"entra\"\n" + entra, `allow_email_domains = ["example.com"]`, `routes[0].allow_email_domains: warning: ` + want},
		{"entra as oidc, emails", entra + `scopes = ["openid", "email", "offline_access"]`, `allow_emails = ["a@example.com"]`, `routes[0].allow_emails: warning: ` + want},
		{"entra, assumed", "kind = \"entra\"\nassume_email_verified = true\n" + entra, `allow_email_domains = ["example.com"]`, ""},
		{"entra, groups only", "kind = \"entra\"\n" + entra, `allow_groups = ["0b1f9851-1bf0-433f-aec3-cb9272f093dc"]`, ""},
		{"entra v1 as oidc, domains", `issuer = "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/"` + "\nclient_id = \"c\"\n",
			`allow_email_domains = ["example.com"]`, `routes[0].allow_email_domains: warning: ` + want},
		{"entra China v1 as oidc, domains", `issuer = "https://sts.chinacloudapi.cn/9188040d-6c67-4c5b-b112-36a304b66dad/"` + "\nclient_id = \"c\"\n",
			`allow_email_domains = ["example.com"]`, `routes[0].allow_email_domains: warning: ` + want},
		{"google, domains", `issuer = "https://accounts.google.com"` + "\nclient_id = \"c\"\nkind = \"google\"\n", `allow_email_domains = ["example.com"]`, ""},
	}
	for _, c := range cases {
		doc := strings.Replace(provider(c.lines), "[[routes]]\npath = \"/**\"\n", "[[routes]]\npath = \"/**\"\n"+c.route+"\n", 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		wantOneWarning(t, c.name, cfg, "email_verified", c.want)
	}
}

// TestEntraGroupDisplayNameWarning: with kind = "entra" a group is its
// object ID and an app role its value, which holds no space and only
// ASCII (Microsoft Graph's appRole.value); a group's display name ("SRE
// Team") in allow_groups never matches (names in the groups claim are
// ignored), so every user was refused and check said OK.
func TestEntraGroupDisplayNameWarning(t *testing.T) {
	const entra = "kind = \"entra\"\nclient_id = \"c\"\nissuer = \"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\"\n"
	for _, c := range []struct{ prov, group, want string }{
		{entra, "SRE Team", `routes[0].allow_groups[0]: warning: "SRE Team" never matches: kind = "entra" names a group by its object ID`},
		{entra, "Équipe", `"Équipe" never matches: kind = "entra" names a group by its object ID`},
		{entra, "Dashboards.Reader", ""},
		{entra, "0b1f9851-1bf0-433f-aec3-cb9272f093dc", ""},
		{entra + "groups_claim = \"team_names\"\n", "SRE Team", ""},
	} {
		cfg := mustParse(t, t.TempDir(), provider(c.prov)+"allow_groups = [\""+c.group+"\"]\n", nil)
		wantOneWarning(t, strconv.Quote(c.group), cfg, "never matches", c.want)
	}
}

// TestEntraWarningsSpareExtraIssuerRoutes: a route may be meant for the
// bearer tokens of an extra issuer, which the Entra ID rules do not bind:
// a Google service account's ID token says email_verified, a Keycloak's
// or a CI system's groups are names. With extra issuers such an
// allow_emails, allow_email_domains or allow_groups works, and the
// warnings (which fail check --strict) said it refuses every user or never
// matches. They still fire where a route's require_claims pins iss to the
// provider's own issuer.
func TestEntraWarningsSpareExtraIssuerRoutes(t *testing.T) {
	const iss = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
	const entra = "kind = \"entra\"\nclient_id = \"c\"\nissuer = \"" + iss + "\"\n" +
		"[[provider.extra_issuers]]\nissuer = \"https://accounts.google.com\"\naudiences = [\"portcullis\"]\n"
	cases := []struct{ name, route, topic, want string }{
		{"emails", `allow_emails = ["deploy@p.iam.gserviceaccount.com"]`, "email_verified", ""},
		{"domains", `allow_email_domains = ["example.com"]`, "email_verified", ""},
		{"group names", `allow_groups = ["SRE Team"]`, "never matches", ""},
		{"emails, pinned", `allow_emails = ["a@example.com"]` + "\nrequire_claims = { iss = \"" + iss + "\" }",
			"email_verified", `routes[0].allow_emails: warning: Entra ID sends no email_verified`},
		{"group names, pinned", `allow_groups = ["SRE Team"]` + "\nrequire_claims = { iss = \"" + iss + "\" }",
			"never matches", `routes[0].allow_groups[0]: warning: "SRE Team" never matches`},
	}
	for _, c := range cases {
		doc := strings.Replace(provider(entra), "[[routes]]\npath = \"/**\"\n", "[[routes]]\npath = \"/**\"\n"+c.route+"\n", 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		wantOneWarning(t, c.name, cfg, c.topic, c.want)
	}
}
