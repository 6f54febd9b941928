package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCleartextEndpointsWarned: every URL the gateway sends secrets to is
// warned about over http:// off loopback, as the issuer is: a plain OAuth
// 2.0 provider's token_url (the client secret, codes, refresh tokens), its
// authorization_url and userinfo_url, and introspection_url. An extra
// issuer's http:// jwks_url under an https:// issuer is refused, as
// discovery refuses such a jwks_uri: its keys decide which tokens pass.
func TestCleartextEndpointsWarned(t *testing.T) {
	plain := func(auth, token, me string) string {
		return strings.Replace(base, `issuer = "https://accounts.google.com"`,
			"authorization_url = \""+auth+"\"\ntoken_url = \""+token+"\"\nuserinfo_url = \""+me+"\"", 1)
	}
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"https endpoints", plain("https://p/auth", "https://p/token", "https://p/me"), nil},
		{"http on loopback", plain("http://127.0.0.1/auth", "http://localhost/token", "http://[::1]/me"), nil},
		{"http elsewhere", plain("http://p.example/auth", "http://p.example/token", "http://p.example/me"), []string{
			`cfg.toml:5: provider.authorization_url: warning: http:// URL "http://p.example/auth": the user's sign-in at the provider and its code travel unencrypted; use https`,
			`cfg.toml:6: provider.token_url: warning: http:// URL "http://p.example/token": the client secret, codes and tokens travel unencrypted; use https`,
			`cfg.toml:7: provider.userinfo_url: warning: http:// URL "http://p.example/me": access tokens travel unencrypted; use https`,
		}},
		// A query may hold a key (Azure Functions' code=, an API gateway's
		// key=): the warning, logged at every start and reload, names the
		// endpoint without it.
		{"query", plain("https://p/auth", "http://p.example/token?code=SECRET#SECRET", "https://p/me"), []string{
			`cfg.toml:6: provider.token_url: warning: http:// URL "http://p.example/token" (query and fragment not shown): the client secret, codes and tokens travel unencrypted; use https`,
		}},
		{"introspection", strings.Replace(plain("https://p/auth", "https://p/token", "https://p/me"), `userinfo_url`,
			"introspection_url = \"http://idp.example/introspect\"\nuserinfo_url", 1), []string{
			`cfg.toml:7: provider.introspection_url: warning: http:// URL "http://idp.example/introspect": the client secret and access tokens travel unencrypted; use https`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, t.TempDir(), tc.doc, nil)
			got := warningsFrom(cfg)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCleartextJWKSRefused(t *testing.T) {
	extra := func(iss, jwks string) string {
		return base + "\n[[provider.extra_issuers]]\nissuer = \"" + iss + "\"\naudiences = [\"dash.example.com\"]\njwks_url = \"" + jwks + "\"\n"
	}
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "query left out", doc: extra("https://k8s.example", "http://k8s.example/jwks?key=SECRET"), want: []string{
			`cfg.toml:21: provider.extra_issuers[0].jwks_url: http:// URL "http://k8s.example/jwks" (query and fragment not shown) under an https:// issuer: anyone on the path could replace the signing keys and sign tokens; use https`}},
		{name: "http under https", doc: extra("https://k8s.example", "http://k8s.example/jwks"), want: []string{
			`cfg.toml:21: provider.extra_issuers[0].jwks_url: http:// URL "http://k8s.example/jwks" under an https:// issuer: anyone on the path could replace the signing keys and sign tokens; use https`}},
	})
	for _, c := range [][2]string{
		{"https://k8s.example", "https://k8s.example/jwks"},
		{"https://k8s.example", "http://127.0.0.1:8001/openid/v1/jwks"}, // kubectl proxy: no network between
		{"http://127.0.0.1:9000", "http://127.0.0.1:9000/jwks"},
	} {
		if cfg, problems := parseDoc(t, t.TempDir(), extra(c[0], c[1]), nil); cfg == nil {
			t.Errorf("%s under %s refused: %q", c[1], c[0], problems)
		}
	}
}

// TestCleartextServiceAccountTokenURIWarned: a Google service account
// key's token_uri is where the gateway sends the grant its private key
// signs (RFC 7523) and receives the directory's access tokens: over
// http:// off loopback it is warned about, as every other endpoint that
// is sent secrets. It was taken without a word.
func TestCleartextServiceAccountTokenURIWarned(t *testing.T) {
	dir := t.TempDir()
	for name, uri := range map[string]string{"plain.json": "http://tok.example/token", "local.json": "http://127.0.0.1:8080/token"} {
		key := strings.Replace(saKey, "https://oauth2.googleapis.com/token", uri, 1)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for file, want := range map[string]string{
		"plain.json": `cfg.toml:8: provider.google_service_account_file: warning: http:// URL "http://tok.example/token": ` +
			`the service account's signed grants (its key's token_uri) and the access tokens they get travel unencrypted; use https`,
		"local.json": "",
	} {
		cfg := mustParse(t, dir, provider("kind = \"google\"\nclient_id = \"c\"\nhosted_domain = \"acme.com\"\ngoogle_service_account_file = \""+file+"\""), nil)
		var got []string
		for _, w := range cfg.Warnings {
			got = append(got, w[strings.LastIndex(w, "cfg.toml"):])
		}
		if strings.Join(got, "\n") != want {
			t.Errorf("%s: warnings %q, want %q", file, got, want)
		}
	}
}
