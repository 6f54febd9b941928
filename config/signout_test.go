package config

import (
	"strings"
	"testing"
)

// TestRevokeOnSignOut: [provider] revoke_on_sign_out is true unless set;
// false keeps sign-outs to the gateway (proxy.Config.SignOutKeepsGrant),
// with a warning at its line when the cookie store leaves nothing else to
// end a copy of a signed-out cookie; a value that is no boolean is a
// problem at its line.
func TestRevokeOnSignOut(t *testing.T) {
	withKey := func(v, session string) string {
		doc := strings.Replace(base, `client_id = "client"`, "client_id = \"client\"\nrevoke_on_sign_out = "+v, 1)
		return strings.Replace(doc, "[session]\n", "[session]\n"+session, 1)
	}
	const warning = `cfg.toml:7: provider.revoke_on_sign_out: warning: false with session.store = "cookie": a copy of a signed-out session's cookie stays valid until session.lifetime (nothing ends its refresh token); store = "redis" ends every copy at the sign-out`
	tests := []struct {
		name, doc string
		keep      bool
		warnings  []string
	}{
		{"default", base, false, nil},
		{"true", withKey("true", ""), false, nil},
		{"false, cookie store", withKey("false", ""), true, []string{warning}},
		{"false, redis store", withKey("false", "store = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\n"), true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, t.TempDir(), tc.doc, nil)
			if cfg.Proxy.SignOutKeepsGrant != tc.keep {
				t.Errorf("SignOutKeepsGrant = %v, want %v", cfg.Proxy.SignOutKeepsGrant, tc.keep)
			}
			var got []string
			for _, w := range cfg.Warnings {
				if strings.Contains(w, "revoke_on_sign_out") {
					got = append(got, w[strings.LastIndex(w, "cfg.toml"):])
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.warnings, "\n") {
				t.Errorf("warnings %q, want %q", got, tc.warnings)
			}
		})
	}
	_, problems := parseDoc(t, t.TempDir(), withKey(`"no"`, ""), nil)
	if want := "cfg.toml:7: provider.revoke_on_sign_out: must be a boolean"; len(problems) != 1 || !strings.HasPrefix(problems[0], want) {
		t.Errorf("problems %q, want one starting %q", problems, want)
	}
}
