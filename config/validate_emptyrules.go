package config

import "fmt"

// An explicitly empty rule key (`allow_groups = []`, `require_claims = {}`,
// as a template renders a list whose values were emptied) would be read as
// the key left out, which is the widest rule there is: a route lets in
// whoever holds "at least one" listed group, email or domain, so the list
// as written lets in no one, yet the route admitted every signed-in
// identity; `methods = []` matched every method. Neither reading is safe to
// guess, so such a key is an error at its line, naming what to write.

// checkEmptyRules refuses each rule key of route r written with nothing in
// it. A list whose entries were all refused already is not refused again.
func (d *decoder) checkEmptyRules(r routeSection) {
	allow := func(key, what string) string {
		return fmt.Sprintf("an empty list would let every signed-in identity in, not no one: "+
			"leave %s out for no %s rule, or set deny = true to refuse everyone", key, what)
	}
	for _, e := range []struct {
		key   string
		empty bool
		msg   string
	}{
		{"methods", emptyList(r.Methods), "an empty list would match every method, not none: leave methods out for every method"},
		{"require_scopes", emptyList(r.RequireScopes), "an empty list requires nothing: list the scopes the route needs, or leave require_scopes out"},
		{"allow_groups", emptyList(r.AllowGroups), allow("allow_groups", "group")},
		{"allow_emails", emptyList(r.AllowEmails), allow("allow_emails", "email")},
		{"allow_email_domains", emptyList(r.AllowEmailDomains), allow("allow_email_domains", "domain")},
		{"require_claims", r.RequireClaims != nil && len(r.RequireClaims) == 0,
			"an empty table requires nothing: give the claims the route needs, or leave require_claims out"},
	} {
		if key := r.path + "." + e.key; e.empty && !d.hasProblemAt(key) {
			d.problem(key, "%s", e.msg)
		}
	}
}

// emptyList reports whether a list key was written, as [], with nothing
// in it: the decoder leaves a key that is not written nil.
func emptyList(v []string) bool { return v != nil && len(v) == 0 }
