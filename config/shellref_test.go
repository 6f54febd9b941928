package config

import (
	"strings"
	"testing"
)

// TestShellStyleVariableWarns: "$NAME" written the shell's way, without
// braces, is kept as written (only ${NAME} expands): check warns at its
// line, naming the byte and not the value (it may be a secret), so that
// --strict fails; "pa$word", "$$NAME", "${NAME}" and "$" alone stay quiet.
func TestShellStyleVariableWarns(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SECRET": "s3cret-from-env"}
	const warn = `the "$" at byte %s is followed by a name but kept as written: only ${NAME} reads an environment variable (write $$ for a literal "$")`
	for _, tc := range []struct {
		name, line, want string
	}{
		{"client secret", `client_secret = "$GOOGLE_CLIENT_SECRET"`, "cfg.toml:7: provider.client_secret: warning: " + strings.Replace(warn, "%s", "1", 1)},
		{"inside a value", `client_secret = "x-$SECRET"`, "cfg.toml:7: provider.client_secret: warning: " + strings.Replace(warn, "%s", "3", 1)},
		{"underscore name", `client_secret = "$_X"`, "cfg.toml:7: provider.client_secret: warning: " + strings.Replace(warn, "%s", "1", 1)},
		{"braced", `client_secret = "${SECRET}"`, ""},
		{"lower-case password", `client_secret = "pa$word"`, ""},
		{"mixed-case password", `client_secret = "Pa$Word1"`, ""},
		{"escaped", `client_secret = "$$SECRET"`, ""},
		{"dollar at the end", `client_secret = "cost$"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(base, `client_id = "client"`, `client_id = "client"`+"\n"+tc.line, 1)
			cfg, problems := parseDoc(t, dir, doc, env)
			if cfg == nil {
				t.Fatalf("problems: %v", problems)
			}
			var got []string
			for _, w := range cfg.Warnings {
				w = strings.TrimPrefix(w, dir+"/")
				if strings.Contains(w, "followed by a name") {
					got = append(got, w)
				}
				if strings.Contains(w, "GOOGLE_CLIENT") || strings.Contains(w, "$SECRET") || strings.Contains(w, "s3cret") {
					t.Errorf("a warning shows the value: %s", w)
				}
			}
			if strings.Join(got, "\n") != tc.want {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), tc.want)
			}
		})
	}
}
