package config

import (
	"strings"
	"testing"
)

// TestEmptyRuleListIsAnError: a rule key written with nothing in it
// (`allow_groups = []`, a template's emptied list) was read as the key left
// out, so the route let in every signed-in identity where its words ("at
// least one listed group") let in no one; `methods = []` matched every
// method. Each is now an error at its line; a list with entries is
// unchanged, and a list whose entries are already refused is not refused
// twice. `provider.audiences = []` is not a rule of a route: written so, it
// is the documented default, the client ID alone, and loads.
func TestEmptyRuleListIsAnError(t *testing.T) {
	route := func(keys string) string { return base + keys + "\n" }
	tests := []struct{ name, doc, want string }{
		{"allow_groups", route("allow_groups = []"),
			`cfg.toml:17: routes[0].allow_groups: an empty list would let every signed-in identity in, not no one: leave allow_groups out for no group rule, or set deny = true to refuse everyone`},
		{"allow_emails", route("allow_emails = [\n]"),
			`cfg.toml:17: routes[0].allow_emails: an empty list would let every signed-in identity in, not no one: leave allow_emails out for no email rule, or set deny = true to refuse everyone`},
		{"allow_email_domains", route("allow_email_domains = []"),
			`cfg.toml:17: routes[0].allow_email_domains: an empty list would let every signed-in identity in, not no one: leave allow_email_domains out for no domain rule, or set deny = true to refuse everyone`},
		{"require_scopes", route("require_scopes = []"),
			`cfg.toml:17: routes[0].require_scopes: an empty list requires nothing: list the scopes the route needs, or leave require_scopes out`},
		{"require_claims", route("require_claims = {}"),
			`cfg.toml:17: routes[0].require_claims: an empty table requires nothing: give the claims the route needs, or leave require_claims out`},
		{"require_claims as a table", route("[routes.require_claims]"),
			`cfg.toml:17: routes[0].require_claims: an empty table requires nothing: give the claims the route needs, or leave require_claims out`},
		{"methods", route("methods = []"),
			`cfg.toml:17: routes[0].methods: an empty list would match every method, not none: leave methods out for every method`},
		{"audiences written empty is the client ID", section("[provider]", "audiences = []"), ``},
		{"entries refused already", route("allow_groups = [1]"),
			`cfg.toml:17: routes[0].allow_groups[0]: must be a string, got integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parseDoc(t, t.TempDir(), tc.doc, nil)
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
	if _, got := parseDoc(t, t.TempDir(), route(`allow_groups = ["admins"]`+"\nrequire_claims = { hd = \"example.com\" }"), nil); got != nil {
		t.Errorf("a route with entries: %v", got)
	}
}
