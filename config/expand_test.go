package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"A": "alpha", "B_2": "beta", "EMPTY": ""})
	tests := []struct {
		name, in, want, err string
	}{
		{name: "plain", in: "no dollars", want: "no dollars"},
		{name: "one variable", in: "${A}", want: "alpha"},
		{name: "two variables", in: "x-${A}-${B_2}-y", want: "x-alpha-beta-y"},
		{name: "empty variable is fine", in: "[${EMPTY}]", want: "[]"},
		{name: "escaped dollar", in: "pa$$word", want: "pa$word"},
		{name: "escaped expansion", in: "$${A}", want: "${A}"},
		{name: "lone dollar kept", in: "cost: 5$ or $A", want: "cost: 5$ or $A"},
		{name: "trailing dollar kept", in: "x$", want: "x$"},
		{name: "unset", in: "${NOPE}", err: "environment variable NOPE is not set"},
		{name: "unterminated", in: "${A", err: "unterminated ${ (write $$ for a literal $)"},
		{name: "bad name", in: "${A-B}", err: `invalid environment variable name "A-B"`},
		{name: "empty name", in: "${}", err: `invalid environment variable name ""`},
		{name: "no recursion", in: "${A}", want: "alpha"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expand(tc.in, env)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("expand(%q) error = %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestExpandValueIsNotReexpanded(t *testing.T) {
	got, err := expand("${A}", envOf(map[string]string{"A": "${B}"}))
	if err != nil || got != "${B}" {
		t.Fatalf("got %q, %v; want the literal value", got, err)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "client"), "\n  from-file \n")
	writeFile(t, filepath.Join(dir, "redis-pw"), "pw\n")
	writeFile(t, filepath.Join(dir, "empty-secrets"), "# nothing yet\n\n")
	t.Run("values are trimmed file contents, relative to the config file", func(t *testing.T) {
		doc := strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret_file = \"client\"\n", 1)
		doc = strings.Replace(doc, "[session]\n", "[session]\nredis_password_file = \""+filepath.Join(dir, "redis-pw")+"\"\n", 1)
		cfg := mustParse(t, dir, doc, nil)
		if cfg.Provider.ClientSecret != "from-file" || cfg.Redis.Password != "pw" {
			t.Errorf("client secret %q, redis password %q", cfg.Provider.ClientSecret, cfg.Redis.Password)
		}
	})
	t.Run("an empty secrets file is a problem", func(t *testing.T) {
		doc := strings.Replace(base, `secrets = ["`+goodSecret+`"]`, `secrets_file = "empty-secrets"`, 1)
		_, got := parseDoc(t, dir, doc, nil)
		want := "cfg.toml:8: session.secrets: at least one secret is required"
		if strings.Join(got, "\n") != want {
			t.Errorf("problems %q, want %q", got, want)
		}
	})
	t.Run("a secret file path may come from the environment", func(t *testing.T) {
		doc := strings.Replace(base, `secrets = ["`+goodSecret+`"]`, `secrets_file = "${DIR}/nope"`, 1)
		_, got := parseDoc(t, dir, doc, map[string]string{"DIR": "/nonexistent"})
		want := "cfg.toml:9: session.secrets_file: cannot read file: open /nonexistent/nope: no such file or directory"
		if strings.Join(got, "\n") != want {
			t.Errorf("problems %q, want %q", got, want)
		}
	})
}
