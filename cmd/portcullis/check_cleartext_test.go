package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWarnsPlainHTTPPublicURL: the README's minimal configuration with
// an http:// public_url off loopback, the mistake of a newcomer whose
// gateway listens on plain http behind a load balancer that ends TLS, is a
// warning on public_url's line that says what to write: the session
// cookie then has no Secure attribute and goes, with the provider's code
// at the callback, over any plain-http request to the host. check said
// "OK" and exited 0 even with --strict. On loopback (the demo, a laptop,
// a name under localhost) http:// stays quiet.
func TestCheckWarnsPlainHTTPPublicURL(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	minimal := docTOMLAfter(t, string(readme), "## A minimal configuration")
	const want = `:2: server.public_url: warning: http:// URL "http://dash.example.com": ` +
		"the session cookie (without Secure) and the provider's codes travel unencrypted; " +
		"set public_url to the https:// origin browsers reach, also when TLS ends at a load balancer or front proxy\n"
	for _, tc := range []struct{ publicURL, want string }{
		{"http://dash.example.com", want},
		{"http://10.0.0.5:4180", strings.Replace(want, "dash.example.com", "10.0.0.5:4180", 1)},
		{"https://dash.example.com", ""},
		{"http://127.0.0.1:4180", ""},
		{"http://localhost:4180", ""},
		{"http://dash.portcullis.localhost:4180", ""},
	} {
		path, env := readmeConfig(t, strings.Replace(minimal, "https://dash.example.com", tc.publicURL, 1))
		r := invoke(t, env, "check", "--config", path)
		strict := invoke(t, env, "check", "--strict", "--config", path)
		if r.code != 0 || tc.want == "" && (r.stderr != "" || strict.code != 0) ||
			tc.want != "" && (r.stderr != path+tc.want || strict.code != 2) {
			t.Errorf("public_url %s: check exit %d, --strict exit %d, stderr:\n%s\nwant %q (exit 2 with --strict)",
				tc.publicURL, r.code, strict.code, r.stderr, tc.want)
		}
	}
}

// readmeConfig writes doc, the README's configuration, with its secret
// files (client-secret, session-secrets) moved from /etc/portcullis to the
// scratch directory of stand-ins recipeConfig writes.
func readmeConfig(tb testing.TB, doc string) (string, map[string]string) {
	tb.Helper()
	_, env := recipeConfig(tb)
	doc = strings.ReplaceAll(doc, "/etc/portcullis/", "${SECRETS_DIR}/")
	return writeConfig(tb, "portcullis.toml", doc), env
}
