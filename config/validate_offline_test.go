package config

import (
	"strings"
	"testing"
)

// TestNoRefreshTokenWarning: Google's or Entra ID's issuer under kind
// "oidc" without what that provider needs before it issues a refresh token
// (Google: access_type=offline, and prompt=consent for later sign-ins;
// Entra ID: the offline_access scope) makes every session end with its
// first access token, an hour in; check warns at provider.issuer and names
// the kind that asks for it. The README and the chart's default values had
// that configuration for Google, and check said OK.
func TestNoRefreshTokenWarning(t *testing.T) {
	const google = `issuer = "https://accounts.google.com"` + "\nclient_id = \"c\"\n"
	const entra = `issuer = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"` + "\nclient_id = \"c\"\n"
	cases := []struct{ name, lines, want string }{
		{"google, no auth_params", google, `cfg.toml:5: provider.issuer: warning: Google's issuer with kind = "oidc": without auth_params access_type = "offline" Google issues no refresh token`},
		{"google, offline without consent", google + `auth_params = { access_type = "offline" }`, `without auth_params prompt = "consent" Google issues a refresh token only at a user's first consent`},
		{"google, offline with consent", google + `auth_params = { access_type = "offline", prompt = "select_account consent" }`, ""},
		{"kind google", "kind = \"google\"\n" + google, ""},
		{"google, no refresh", google + "[session]\nrefresh = false\n", ""},
		{"entra as oidc", entra, `cfg.toml:5: provider.issuer: warning: Entra ID's issuer with kind = "oidc": provider.scopes lacks "offline_access"`},
		{"entra as oidc, offline_access", entra + `scopes = ["openid", "email", "offline_access"]`, ""},
		{"kind entra", "kind = \"entra\"\n" + entra, ""},
		{"another provider", `issuer = "https://login.acme.com"` + "\nclient_id = \"c\"\n", ""},
		{"google as oauth2", oauth2("https://accounts.google.com/o/oauth2/v2/auth"), `cfg.toml:6: provider.authorization_url: warning: Google's authorization endpoint with kind = "oauth2": without auth_params access_type = "offline" Google issues no refresh token`},
		{"google as oauth2, offline with consent", oauth2("https://accounts.google.com/o/oauth2/auth") + `auth_params = { access_type = "offline", prompt = "consent" }`, ""},
		// The endpoint's own query reaches Google: oauth2 appends to it.
		{"google as oauth2, offline with consent in the URL", oauth2("https://accounts.google.com/o/oauth2/v2/auth?access_type=offline&prompt=consent"), ""},
		{"google as oauth2, offline in the URL", oauth2("https://accounts.google.com/o/oauth2/v2/auth?access_type=offline") + `auth_params = { prompt = "consent" }`, ""},
		{"google as oauth2, consent in the URL", oauth2("https://accounts.google.com/o/oauth2/v2/auth?prompt=consent"), `without auth_params access_type = "offline" Google issues no refresh token`},
		{"entra as oauth2", oauth2("https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/authorize"), `cfg.toml:6: provider.authorization_url: warning: Entra ID's authorization endpoint with kind = "oauth2": provider.scopes lacks "offline_access"`},
		{"entra as oauth2, offline_access", oauth2("https://login.microsoftonline.com/common/oauth2/v2.0/authorize") + `scopes = ["openid", "offline_access"]`, ""},
		{"another oauth2 provider", oauth2("https://login.acme.com/authorize"), ""},
	}
	for _, c := range cases {
		doc := provider(c.lines)
		if strings.Contains(c.lines, "[session]") {
			doc = strings.Replace(provider(google), "[session]\n", "[session]\nrefresh = false\n", 1)
		}
		cfg := mustParse(t, t.TempDir(), doc, nil)
		wantOneWarning(t, c.name, cfg, "refresh token", c.want)
	}
}

// oauth2 is a [provider] of kind "oauth2" whose authorization endpoint is
// authURL.
func oauth2(authURL string) string {
	return "kind = \"oauth2\"\nauthorization_url = \"" + authURL + "\"\n" +
		"token_url = \"https://login.acme.com/token\"\nuserinfo_url = \"https://login.acme.com/userinfo\"\nclient_id = \"c\"\n"
}

// TestKindGoogleOtherIssuerWarning: kind "google" with an issuer that is not
// Google's applies Google's rules to another provider: prompt=consent and
// access_type=offline in every authorization request, and an email address
// counts as verified only for Gmail or a Workspace account (hd), so rules by
// email refuse every user. The chart's values then set kind google, and a Helm
// user who overrides only provider.issuer (Helm merges maps) got that with
// check saying OK. Found by review JS.
func TestKindGoogleOtherIssuerWarning(t *testing.T) {
	const want = `cfg.toml:5: provider.kind: warning: kind = "google" with provider.issuer "https://dev-1.okta.com", which is not Google's`
	cases := []struct{ name, lines, want string }{
		{"another provider", "kind = \"google\"\nissuer = \"https://dev-1.okta.com\"\nclient_id = \"c\"", want},
		{"entra", "kind = \"google\"\nissuer = \"https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\"\nclient_id = \"c\"", `provider.kind: warning: kind = "google" with provider.issuer "https://login.microsoftonline.com/`},
		{"google's issuer", "kind = \"google\"\nissuer = \"https://accounts.google.com\"\nclient_id = \"c\"", ""},
		{"google's issuer, slash", "kind = \"google\"\nissuer = \"https://accounts.google.com/\"\nclient_id = \"c\"", ""},
		{"no issuer", "kind = \"google\"\nclient_id = \"c\"", ""},
		{"kind oidc", "kind = \"oidc\"\nissuer = \"https://dev-1.okta.com\"\nclient_id = \"c\"", ""},
	}
	for _, c := range cases {
		cfg := mustParse(t, t.TempDir(), provider(c.lines), nil)
		wantOneWarning(t, c.name, cfg, "provider.kind", c.want)
	}
}

// wantOneWarning checks that of cfg's warnings holding topic there is one
// holding want, or none when want is "".
func wantOneWarning(t *testing.T, name string, cfg *Config, topic, want string) {
	t.Helper()
	var got []string
	for _, w := range cfg.Warnings {
		if strings.Contains(w, topic) {
			got = append(got, w)
		}
	}
	switch {
	case want == "" && len(got) != 0:
		t.Errorf("%s: warnings %q, want none about %s", name, got, topic)
	case want != "" && (len(got) != 1 || !strings.Contains(got[0], want)):
		t.Errorf("%s: warnings %q, want one with %q", name, got, want)
	}
}
