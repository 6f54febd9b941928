package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// provider replaces base's [provider] table with lines (starting at line 5).
func provider(lines string) string {
	return strings.Replace(base, "issuer = \"https://accounts.google.com\"\nclient_id = \"client\"\n", lines+"\n", 1)
}

const saKey = `{"type": "service_account", "client_email": "gw@p.iam.gserviceaccount.com",
 "private_key": "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n", "token_uri": "https://oauth2.googleapis.com/token"}`

func TestDirectoryKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("sa.json", saKey)
	write("user.json", `{"type": "authorized_user", "client_id": "x"}`)
	write("junk.json", `not json`)
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"admin email without key", provider("kind = \"google\"\nclient_id = \"c\"\ngoogle_admin_email = \"admin@acme.com\""),
			[]string{"cfg.toml:7: provider.google_admin_email: needs google_service_account_file (the service account that acts as this admin)"}},
		{"admin email on github", provider("kind = \"github\"\nclient_id = \"c\"\ngoogle_admin_email = \"admin@acme.com\""),
			[]string{`cfg.toml:7: provider.google_admin_email: only used with kind = "google"`}},
		{"not a service account", provider("kind = \"google\"\nclient_id = \"c\"\ngoogle_service_account_file = \"user.json\""),
			[]string{`cfg.toml:7: provider.google_service_account_file: must be a service account key ("type": "service_account"), got type "authorized_user"`}},
		{"not JSON", provider("kind = \"google\"\nclient_id = \"c\"\ngoogle_service_account_file = \"junk.json\""),
			[]string{"cfg.toml:7: provider.google_service_account_file: not a JSON key file: invalid character 'o' in literal null (expecting 'u')"}},
		{"missing key file", provider("kind = \"google\"\nclient_id = \"c\"\ngoogle_service_account_file = \"nope.json\""),
			[]string{"cfg.toml:7: provider.google_service_account_file: cannot read file: open " + filepath.Join(dir, "nope.json") + ": no such file or directory"}},
		{"hosted_domain on oidc", provider("issuer = \"https://id.example.com\"\nclient_id = \"c\"\nhosted_domain = \"acme.com\""),
			[]string{`cfg.toml:7: provider.hosted_domain: only used with kind = "google"`}},
		{"hosted_domain with @", provider("kind = \"google\"\nclient_id = \"c\"\nhosted_domain = \"@acme.com\""),
			[]string{`cfg.toml:7: provider.hosted_domain: must be a domain name such as example.com, got "@acme.com"`}},
		{"github_api_url on google", provider("kind = \"google\"\nclient_id = \"c\"\ngithub_api_url = \"https://ghe/api/v3\""),
			[]string{`cfg.toml:7: provider.github_api_url: only used with kind = "github"`}},
		{"directory_url on github", provider("kind = \"github\"\nclient_id = \"c\"\ndirectory_url = \"https://x\""),
			[]string{`cfg.toml:7: provider.directory_url: only used with kind = "google" or "entra"`}},
		{"entra v1 issuer", provider("kind = \"entra\"\nclient_id = \"c\"\nissuer = \"https://sts.windows.net/t/\""),
			[]string{`cfg.toml:7: provider.issuer: kind = "entra" uses the v2.0 endpoints: the issuer is https://login.microsoftonline.com/TENANT-ID/v2.0, got "https://sts.windows.net/t/"`}},
		{"entra common", provider("kind = \"entra\"\nclient_id = \"c\"\nissuer = \"https://login.microsoftonline.com/common/v2.0\""),
			[]string{`cfg.toml:7: provider.issuer: name one tenant (its ID) instead of "common": multi-tenant issuers cannot be verified`}},
		{"entra without issuer", provider("kind = \"entra\"\nclient_id = \"c\""),
			[]string{`cfg.toml:4: provider.issuer: required with kind = "entra"`}},
		{"groups_refresh zero", provider("kind = \"github\"\nclient_id = \"c\"\ngroups_refresh = \"0s\""),
			[]string{`cfg.toml:7: provider.groups_refresh: must be greater than 0, got "0s"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parseDoc(t, dir, tc.doc, nil)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestDirectoryTranslation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sa.json"), []byte(saKey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, dir, provider(`kind = "google"
client_id = "c"
hosted_domain = "acme.com"
google_service_account_file = "sa.json"
google_admin_email = "admin@acme.com"
groups_refresh = "5m"`), nil)
	p := cfg.Provider
	if p.Kind != "google" || p.Issuer != "" || p.HostedDomain != "acme.com" || p.GoogleAdminEmail != "admin@acme.com" ||
		string(p.GoogleServiceAccountJSON) != saKey {
		t.Errorf("provider = %+v", p)
	}
	if cfg.Proxy.GroupsRefresh != 5*time.Minute {
		t.Errorf("groups_refresh = %v", cfg.Proxy.GroupsRefresh)
	}
	cfg = mustParse(t, dir, provider("kind = \"entra\"\nclient_id = \"c\"\nissuer = \"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\""), nil)
	if strings.Join(cfg.Provider.Scopes, " ") != "openid email profile offline_access User.Read" || cfg.Proxy.GroupsRefresh != 10*time.Minute {
		t.Errorf("entra scopes %q, groups_refresh %v", cfg.Provider.Scopes, cfg.Proxy.GroupsRefresh)
	}
	cfg = mustParse(t, dir, provider("kind = \"github\"\nclient_id = \"c\"\ngithub_api_url = \"https://ghe.acme.com/api/v3\""), nil)
	if cfg.Provider.GitHubAPIURL != "https://ghe.acme.com/api/v3" || cfg.Provider.AuthorizationURL != "" {
		t.Errorf("github enterprise: %+v", cfg.Provider)
	}
}

func TestGroupCaseWarning(t *testing.T) {
	doc := provider("kind = \"github\"\nclient_id = \"c\"") + "allow_groups = [\"acme\", \"Acme/SRE\"]\n"
	cfg := mustParse(t, t.TempDir(), doc, nil)
	want := `cfg.toml:17: routes[0].allow_groups[1]: warning: "Acme/SRE" never matches: kind = "github" spells groups in lowercase ("acme/sre")`
	if len(cfg.Warnings) != 1 || !strings.HasSuffix(cfg.Warnings[0], want) {
		t.Errorf("warnings %q, want %q", cfg.Warnings, want)
	}
	// Look-alikes: fullwidth and Cyrillic letters are never in a GitHub slug
	// or a Google group address; an upper-case Entra object ID is never
	// Entra's spelling (an app role's value keeps its case).
	for _, c := range []struct{ kind, group, want string }{
		{"github", "ａｃｍｅ/sre", `"ａｃｍｅ/sre" never matches: kind = "github" spells groups in ASCII, and 'ａ' (U+FF41) is not`},
		{"google", "\u0430dmins@acme.com", `"аdmins@acme.com" never matches: kind = "google" spells groups in ASCII, and 'а' (U+0430) is not`},
		{"entra", "0B1F9851-1BF0-433F-AEC3-CB9272F093DC", `"0B1F9851-1BF0-433F-AEC3-CB9272F093DC" never matches: Entra ID names groups by lowercase object IDs ("0b1f9851-1bf0-433f-aec3-cb9272f093dc")`},
		// Other gateways spell a team "org:team"; GitHub's directory gives
		// "org/slug", one slash at most.
		{"github", "acme:sre", `"acme:sre" never matches: kind = "github" names an organisation "org" and a team "org/slug" ("acme/sre")`},
		{"github", "acme/sre/oncall", `"acme/sre/oncall" never matches: kind = "github" names an organisation "org" and a team "org/slug"`},
		{"github", "acme/", `"acme/" never matches: kind = "github" names an organisation "org" and a team "org/slug"`},
		{"github", "acme/sre", ""},
		// Google names a group by its address.
		{"google", "sre", `"sre" never matches: kind = "google" names a group by its address ("sre@your-domain")`},
		{"google", "sre@acme.com", ""},
		// A team's display name is no slug: GitHub's URL name of "Platform
		// Team" is platform-team. The lowercase spelling alone would be
		// suggested as the fix and never match either.
		{"github", "Acme/Platform Team", `"Acme/Platform Team" never matches: kind = "github" names a team by its slug, the last part of its URL github.com/orgs/ORG/teams/SLUG, not its display name ("acme/platform-team")`},
		{"github", "acme/platform team", `"acme/platform team" never matches: kind = "github" names a team by its slug, the last part of its URL github.com/orgs/ORG/teams/SLUG, not its display name ("acme/platform-team")`},
		{"github", "acme/sre_oncall.eu", ""},
		{"github", "Acme Corp", `"Acme Corp" never matches: kind = "github" names an organisation by its login, the name in its URL github.com/ORG, not its display name`},
		// A Google group's name is no address either, whatever its case.
		{"google", "SRE Team", `"SRE Team" never matches: kind = "google" names a group by its address ("sre-team@your-domain")`},
		{"google", "SRE Team@acme.com", `"SRE Team@acme.com" never matches: kind = "google" names a group by its address, which holds no space`},
		// No kind's identity holds a look-alike group: the sign-in is refused.
		{"oidc", "ａｄｍｉｎｓ", `"ａｄｍｉｎｓ" never matches: 'ａ' (U+FF41) reads as ASCII to applications that fold case or apply NFKC, and a sign-in with such a group is refused`},
		{"oidc", "\u212aube", "\"\u212aube\" never matches: '\u212a' (U+212A) reads as ASCII to applications that fold case or apply NFKC, and a sign-in with such a group is refused"},
		{"oidc", "gro\u00df", "\"gro\u00df\" never matches: '\u00df' (U+00DF) reads as ASCII to applications that fold case or apply NFKC, and a sign-in with such a group is refused"},
		{"oidc", "e\u0301quipe", `never matches: it is not in composed form (NFC), and a sign-in with such a group is refused`},
		{"oidc", "admins\u2060", `never matches: U+2060 is an invisible character, which applications that compare with a Unicode collation ignore, and a sign-in with such a group is refused`},
		{"oidc", "\u00c9quipe", ""},
		{"entra", "Dashboards.Reader", ""},
		{"entra", "0b1f9851-1bf0-433f-aec3-cb9272f093dc", ""},
	} {
		prov := "kind = \"" + c.kind + "\"\nclient_id = \"c\""
		if c.kind == "entra" {
			prov += "\nissuer = \"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\""
		}
		if c.kind == "oidc" {
			prov += "\nissuer = \"https://idp.example.com\""
		}
		cfg := mustParse(t, t.TempDir(), provider(prov)+"allow_groups = [\""+c.group+"\"]\n", nil)
		var got []string
		for _, w := range cfg.Warnings {
			if strings.Contains(w, "allow_groups") {
				got = append(got, w)
			}
		}
		if c.want == "" && len(got) != 0 || c.want != "" && (len(got) != 1 || !strings.HasSuffix(got[0], c.want)) {
			t.Errorf("%s %q: warnings %q, want %q", c.kind, c.group, got, c.want)
		}
	}
}

// TestOpenSignInWarning: a route that any Google account (no hosted_domain)
// or any GitHub user can reach is named with a warning; a route that names
// who may pass, or needs a scope the gateway does not ask for, is not.
func TestOpenSignInWarning(t *testing.T) {
	routes := `
[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/deny/**"
deny = true

[[routes]]
path = "/staff/**"
allow_groups = ["GROUP"]

[[routes]]
path = "/acme/**"
allow_email_domains = ["acme.com"]

[[routes]]
path = "/claims/**"
require_claims = { tenant = "acme" }

[[routes]]
path = "/write/**"
require_scopes = ["reports:write"]

[[routes]]
path = "/anyone/**"
allow_email_domains = ["*"]

[[routes]]
path = "/granted/**"
require_scopes = ["SCOPE"]
`
	cases := []struct {
		name, provider, scope, who string
	}{
		{"google issuer", `issuer = "https://accounts.google.com"` + "\nclient_id = \"c\"\n" + googleOfflineParams, "openid", "any Google account"},
		{"google kind", "kind = \"google\"\nclient_id = \"c\"", "email", "any Google account"},
		{"github", "kind = \"github\"\nclient_id = \"c\"", "read:org", "any GitHub user"},
		{"google workspace", "kind = \"google\"\nclient_id = \"c\"\nhosted_domain = \"acme.com\"", "openid", ""},
		{"own provider", `issuer = "https://login.acme.com"` + "\nclient_id = \"c\"", "openid", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			group := "staff@acme.com" // spelled as the kind's directory spells a group
			if strings.Contains(tc.provider, "github") {
				group = "acme"
			}
			rs := strings.NewReplacer("SCOPE", tc.scope, "GROUP", group).Replace(routes)
			doc := strings.Replace(provider(tc.provider), "[[routes]]\npath = \"/**\"\n", rs, 1)
			cfg := mustParse(t, t.TempDir(), doc, nil)
			says := ""
			if tc.who != "" {
				says = tc.who + " can sign in and reach this route"
			}
			openRoutesWarned(t, cfg.Warnings, says)
		})
	}
}

// TestOpenExtraIssuerWarning: every token an extra issuer signs for its
// audiences passes a route that names nobody, and some extra issuers sign
// for anyone (any GitHub repository's workflow can ask GitHub Actions for
// a token with the audience "portcullis"; any pod of a cluster, its
// Kubernetes). Before, such a route drew no warning whatever the provider;
// now it is named, and a route that says who may pass is not.
func TestOpenExtraIssuerWarning(t *testing.T) {
	routes := `
[[provider.extra_issuers]]
issuer = "https://token.actions.githubusercontent.com"
audiences = ["portcullis"]

[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/deny/**"
deny = true

[[routes]]
path = "/staff/**"
allow_groups = ["staff"]

[[routes]]
path = "/ci/**"
require_claims = { repository_owner = "acme" }

[[routes]]
path = "/write/**"
require_scopes = ["reports:write"]

[[routes]]
path = "/acme/**"
allow_email_domains = ["acme.com"]

[[routes]]
path = "/anyone/**"
allow_email_domains = ["*"]

[[routes]]
path = "/**"
`
	doc := strings.Replace(provider(`issuer = "https://login.acme.com"`+"\nclient_id = \"c\""),
		"[[routes]]\npath = \"/**\"\n", routes, 1)
	cfg := mustParse(t, t.TempDir(), doc, nil)
	openRoutesWarned(t, cfg.Warnings,
		`any token that provider.extra_issuers[0] ("https://token.actions.githubusercontent.com") signs for its audiences can reach this route`)
}

// openRoutesWarned checks that warnings are one for routes[6] and one for
// routes[7], in that order, each saying says: the two routes of
// TestOpenSignInWarning's and TestOpenExtraIssuerWarning's documents that
// name nobody (a bare route, and every email domain). With says "" it
// checks there is no warning.
func openRoutesWarned(t *testing.T, warnings []string, says string) {
	t.Helper()
	var want []string
	if says != "" {
		for _, r := range []string{"routes[6]", "routes[7]"} {
			want = append(want, r+": warning: "+says)
		}
	}
	if len(warnings) != len(want) {
		t.Fatalf("warnings %q, want %d", warnings, len(want))
	}
	for i, w := range want {
		if !strings.Contains(warnings[i], w) {
			t.Errorf("warning %q, want %q", warnings[i], w)
		}
	}
}

// TestOpenExtraIssuerWarningNamesTheProvidersIssuer: the warning says how
// to admit the provider's users only, with kind = "google"'s default
// issuer too, and says nothing of iss for a provider without one (GitHub).
func TestOpenExtraIssuerWarningNamesTheProvidersIssuer(t *testing.T) {
	extra := "\n[[provider.extra_issuers]]\nissuer = \"https://ci.example.com\"\naudiences = [\"portcullis\"]\n"
	for lines, want := range map[string]string{
		"kind = \"google\"\nclient_id = \"c\"\nhosted_domain = \"acme.com\"": `{ iss = "https://accounts.google.com" }`,
		"kind = \"github\"\nclient_id = \"c\"":                               `require_claims (the issuer's own claims`,
	} {
		cfg := mustParse(t, t.TempDir(), provider(lines)+extra, nil)
		found := false
		for _, w := range cfg.Warnings {
			found = found || strings.Contains(w, "provider.extra_issuers[0]") && strings.Contains(w, want)
		}
		if !found {
			t.Errorf("%s: warnings %q, want one with %s", lines, cfg.Warnings, want)
		}
	}
}

// A GitHub App's user tokens (client IDs Iv1.… and Iv23…) are answered by
// GET /user/orgs with an empty list, so an organisation in allow_groups
// never matches: check says so rather than let every user be refused
// silently. Teams are still listed.
func TestGitHubAppOrganisationWarning(t *testing.T) {
	for id, warn := range map[string]bool{"Iv1.0123456789abcdef": true, "Iv23liAbCdEf0123456789": true,
		"Ov23liAbCdEf0123456789": false, "0123456789abcdef0123": false} {
		cfg := mustParse(t, t.TempDir(), provider("kind = \"github\"\nclient_id = \""+id+"\"")+"allow_groups = [\"acme/sre\", \"acme\"]\n", nil)
		var got []string
		for _, w := range cfg.Warnings {
			if strings.Contains(w, "allow_groups") {
				got = append(got, w)
			}
		}
		want := `routes[0].allow_groups[1]: warning: "acme" never matches: client_id ` + id + ` is a GitHub App's, and GitHub lists no organisations for a GitHub App's user token (GET /user/orgs answers []); use an OAuth app, or teams`
		if warn && (len(got) != 1 || !strings.HasSuffix(got[0], want)) || !warn && len(got) != 0 {
			t.Errorf("client_id %s: warnings %q, want %v", id, got, warn)
		}
	}
}
