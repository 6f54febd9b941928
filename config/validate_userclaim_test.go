package config

import (
	"strings"
	"testing"
)

// TestMutableUserClaimWarning: Grafana (CVE-2022-31107, CVE-2023-3128) and
// other relying parties matched their users by a login or email that the
// user or another tenant's administrator could change, so a renamed
// account became someone else's (review KM). X-Forwarded-User is the
// user_claim, which applications store their users by: check warns when
// it names a claim that can change hands (a username, a UPN, a display
// name, a GitHub login) and when it is Entra ID's email taken as verified
// by assume_email_verified ("nOAuth"). The stable ones (sub, oid, a
// verified email elsewhere) get no warning.
func TestMutableUserClaimWarning(t *testing.T) {
	const entra = "kind = \"entra\"\nclient_id = \"c\"\nissuer = \"https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\"\n"
	const google = "issuer = \"https://accounts.google.com\"\nclient_id = \"c\"\n"
	const want = `provider.user_claim: warning: `
	cases := []struct{ name, lines, want string }{
		{"preferred_username", google + `user_claim = "preferred_username"`, want + `"preferred_username" can change hands`},
		{"upn", entra + `user_claim = "upn"`, want + `"upn" can change hands`},
		{"unique_name", entra + `user_claim = "unique_name"`, want + `"unique_name" can change hands`},
		{"name", google + `user_claim = "name"`, want + `"name" can change hands`},
		{"github login", "kind = \"github\"\nclient_id = \"c\"\n" + `user_claim = "login"`, want + `"login" can change hands`},
		{"nickname", google + `user_claim = "nickname"`, want + `"nickname" can change hands`},
		{"entra email assumed", entra + "assume_email_verified = true\n" + `user_claim = "email"`, want + `Entra ID's email is an attribute`},
		{"entra email_claim assumed", entra + "assume_email_verified = true\n" + `user_claim = "mail"` + "\nemail_claim = \"mail\"", want + `Entra ID's email is an attribute`},
		{"sub", google, ""},
		{"entra oid", entra + `user_claim = "oid"`, ""},
		{"google email", google + `user_claim = "email"`, ""},
		{"entra email not assumed", entra + `user_claim = "email"`, ""},
		{"employee id", google + `user_claim = "employee_id"`, ""},
	}
	for _, c := range cases {
		cfg := mustParse(t, t.TempDir(), provider(c.lines), nil)
		wantOneWarning(t, c.name, cfg, "user_claim", c.want)
	}
}

// TestMutableUserClaimWarningText: the warning says what to use instead.
func TestMutableUserClaimWarningText(t *testing.T) {
	cfg := mustParse(t, t.TempDir(), provider("issuer = \"https://accounts.google.com\"\nclient_id = \"c\"\nuser_claim = \"preferred_username\""), nil)
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "user_claim") && strings.Contains(w, `"sub"`) && strings.Contains(w, "sub_id") {
			return
		}
	}
	t.Errorf("warnings %q: want one naming sub and the assertion's sub_id", cfg.Warnings)
}
