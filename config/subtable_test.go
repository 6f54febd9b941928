package config

import (
	"strings"
	"testing"
)

// TestParentKeyUnderSubtableHeader: every key below a TOML header belongs
// to that table, so a key of [provider] written after [provider.auth_params]
// (`hosted_domain`, which restricts sign-in to a Workspace domain) became an
// authorization parameter Google ignores, and `deny = true` after
// [routes.require_claims] a claim the route required instead of a deny:
// the file loaded with the rule dropped. Such a key is now an error at its
// line; the same name written inline or as a dotted key (its table named
// on its own line), as a claim or parameter, is not.
func TestParentKeyUnderSubtableHeader(t *testing.T) {
	afterProvider := func(lines string) string {
		return strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\n"+lines+"\n", 1)
	}
	tests := []struct{ name, doc, want string }{
		{"hosted_domain under auth_params", afterProvider("[provider.auth_params]\nprompt = \"select_account\"\nhosted_domain = \"example.com\""),
			`cfg.toml:9: provider.auth_params.hosted_domain: is a key of [provider], not of auth_params: every key below the [provider.auth_params] header belongs to that table; move it above the header`},
		{"deny under require_claims", base + "[routes.require_claims]\nhd = \"example.com\"\ndeny = true\n",
			`cfg.toml:19: routes[0].require_claims.deny: is a key of [[routes]], not of require_claims: every key below the [routes.require_claims] header belongs to that table; move it above the header`},
		{"user under headers.claims", base + "[headers.claims]\n\"X-Hd\" = \"hd\"\nuser = \"X-User\"\n",
			`cfg.toml:19: headers.claims.user: is a key of [headers], not of claims: every key below the [headers.claims] header belongs to that table; move it above the header`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parseDoc(t, t.TempDir(), tc.doc, nil)
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
	for _, doc := range []string{
		base + "require_claims = { name = \"Alice\", deny = \"no\" }\n",
		base + "[routes.require_claims]\nhd = \"example.com\"\n",
		afterProvider("auth_params = { hosted_domain = \"x\" }"),
		// Dotted keys name the table they go in themselves: no header is
		// above them, so none can have been slipped below one.
		base + "require_claims.tier = \"gold\"\nrequire_claims.name = \"Alice\"\n",
		base + "[headers]\nclaims.\"X-Tier\" = \"tier\"\nclaims.user = \"user\"\n",
		afterProvider("auth_params.access_type = \"offline\"\nauth_params.hosted_domain = \"x\""),
	} {
		if _, got := parseDoc(t, t.TempDir(), doc, nil); got != nil {
			t.Errorf("problems %v for:\n%s", got, doc)
		}
	}
}
