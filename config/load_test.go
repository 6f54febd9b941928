package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// goodSecret is 32 random bytes in base64, used wherever a valid secret is needed.
const goodSecret = "q83vEjRWeJq83vBjVhBq7X7D5y0Jf1o4ZkqR8b2mTnE="

// base is a minimal valid document of 16 lines; cases append to it from line 17.
const base = `[server]
public_url = "https://dash.example.com"

[provider]
issuer = "https://accounts.google.com"
client_id = "client"

[session]
secrets = ["` + goodSecret + `"]

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"

[[routes]]
path = "/**"
`

// envOf returns a getenv over m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// parseDoc parses doc as dir/cfg.toml and returns the problems as strings.
func parseDoc(tb testing.TB, dir, doc string, env map[string]string) (*Config, []string) {
	tb.Helper()
	cfg, err := Parse(filepath.Join(dir, "cfg.toml"), []byte(doc), envOf(env))
	if err == nil {
		return cfg, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		tb.Fatalf("Parse error is %T (%v), want Problems", err, err)
	}
	lines := strings.Split(ps.Error(), "\n")
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], dir+string(filepath.Separator))
	}
	return nil, lines
}

// TestSchemaProblems covers syntax errors, unknown keys and wrong types.
func TestSchemaProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []problemCase{
		{
			name: "syntax error",
			doc:  "[server\npublic_url = 1\n",
			want: []string{`cfg.toml:1: toml: expected ']' to close table name (column 8)`},
		},
		{
			// The parser finds it at the end of the file; the fix is where it opens.
			name: "unterminated multi-line string",
			doc:  base + "[branding]\nname = \"\"\"Example\nlogo_url = \"https://a.example/l.png\"\n\n[log]\nlevel = \"info\"\n",
			want: []string{`cfg.toml:18: branding.name: multiline basic string not terminated by """ (it opens on this line, column 8; the parser reached line 22)`},
		},
		{
			// An escaped quote and two more inside the open string spell
			// the delimiter, but neither open nor close it.
			name: "unterminated multi-line string holding an escaped quote",
			doc:  base + "[branding]\nname = \"\"\"Example\nsays \\\"\"\" and \\\\\\\"\"\"\n\n[log]\n",
			want: []string{`cfg.toml:18: branding.name: multiline basic string not terminated by """ (it opens on this line, column 8; the parser reached line 21)`},
		},
		{
			name: "unterminated multi-line literal string",
			doc:  base + "[branding]\nname = '''Example\n\n[log]\n",
			want: []string{`cfg.toml:18: branding.name: multiline literal string not terminated by ''' (it opens on this line, column 8; the parser reached line 20)`},
		},
		{
			name: "duplicate key",
			doc:  base + "[log]\nlevel = \"info\"\nlevel = \"debug\"\n",
			want: []string{`cfg.toml:19: log.level: key level is already defined (column 1)`},
		},
		{
			name: "unknown top-level table",
			doc:  base + "[metrics]\nport = 9090\n",
			want: []string{`cfg.toml:17: metrics: unknown key`},
		},
		{
			name: "unknown key in the second route",
			doc:  base + "[[routes]]\npath = \"/x\"\nallow_user = [\"bob\"]\n",
			want: []string{`cfg.toml:19: routes[1].allow_user: unknown key`},
		},
		{
			name: "typo suggests the nearest key of that table",
			doc:  strings.Replace(base, "[server]\n", "[server]\nshutdown_timout = \"5s\"\n", 1),
			want: []string{`cfg.toml:2: server.shutdown_timout: unknown key; did you mean shutdown_timeout?`},
		},
		{
			name: "typo of a _file secret and of a route key",
			doc: strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret_fil = \"s\"\n", 1) +
				"alow_groups = [\"x\"]\nupstraem = \"app\"\n",
			want: []string{
				`cfg.toml:7: provider.client_secret_fil: unknown key; did you mean client_secret_file?`,
				`cfg.toml:18: routes[0].alow_groups: unknown key; did you mean allow_groups?`,
				`cfg.toml:19: routes[0].upstraem: unknown key; did you mean upstream?`,
			},
		},
		{
			name: "a key of another table names that table, a far one nothing",
			doc:  base + "listen = \":1\"\nxyz = 1\n",
			want: []string{`cfg.toml:17: routes[0].listen: unknown key; it is a key of [server]`, `cfg.toml:18: routes[0].xyz: unknown key`},
		},
		{
			// flush_interval is read only when present; it was missing
			// from the keys known for suggestions and hints.
			name: "flush_interval: a typo and a misplaced one are named",
			doc: strings.Replace(base, "url = \"http://127.0.0.1:3000\"\n", "url = \"http://127.0.0.1:3000\"\nflush_intervall = \"1s\"\n", 1) +
				"flush_interval = \"1s\"\n",
			want: []string{
				`cfg.toml:14: upstreams[0].flush_intervall: unknown key; did you mean flush_interval?`,
				`cfg.toml:18: routes[0].flush_interval: unknown key; it is a key of [[upstreams]]`,
			},
		},
		{
			name: "route names: charset and uniqueness",
			doc:  base + "name = \"api\"\n[[routes]]\npath = \"/a\"\nname = \"api\"\n[[routes]]\npath = \"/b\"\nname = \"x y\"\n",
			want: []string{
				`cfg.toml:20: routes[1].name: duplicate route name "api" (routes[0] has it)`,
				`cfg.toml:23: routes[2].name: "x y" is not a route name: 1 to 64 letters, digits, "-", "_" or ".", starting with a letter; not "gateway" or "none"`,
			},
		},
		{
			name: "branding",
			doc: base + "[branding]\nname = \"Ex\\u0007\"\nlogo_url = \"javascript:alert(1)\"\n" +
				"support_url = \"//help.example.com\"\nlogo_ulr = \"x\"\n",
			want: []string{
				`cfg.toml:18: branding.name: ends with a control character (U+0007): remove it; the value is not shown`,
				`cfg.toml:19: branding.logo_url: must be an absolute http:// or https:// URL, got "javascript:alert(1)"`,
				`cfg.toml:20: branding.support_url: must be an absolute http:// or https:// URL, got "//help.example.com"`,
				`cfg.toml:21: branding.logo_ulr: unknown key`, // logo_url is set: no suggestion
			},
		},
		{
			// The logo's host is the pages' img-src: "*.example.com" there
			// lets every subdomain's images in.
			name: "branding hosts",
			doc:  base + "[branding]\nlogo_url = \"https://*.example.com/logo.png\"\nsupport_url = \"https://*/help\"\n",
			want: []string{
				`cfg.toml:18: branding.logo_url: host "*.example.com" is not a plain host (a DNS name in ASCII, an IPv4 address or a bracketed IPv6 address, and a port in plain decimal)`,
				`cfg.toml:19: branding.support_url: host "*" is not a plain host (a DNS name in ASCII, an IPv4 address or a bracketed IPv6 address, and a port in plain decimal)`,
			},
		},
		{
			name: "unknown key in an inline table",
			doc:  "upstreams = [{ name = \"app\", url = \"http://127.0.0.1:3000\", retries = 3 }]\n" + strings.Replace(base, "[[upstreams]]\nname = \"app\"\nurl = \"http://127.0.0.1:3000\"\n", "\n\n\n", 1),
			want: []string{`cfg.toml:1: upstreams[0].retries: unknown key`},
		},
		{
			name: "inline table where a string belongs",
			doc:  base + "require_claims = { hd = \"example.com\" }\n[log]\nformat = { kind = \"json\" }\n",
			want: []string{`cfg.toml:19: log.format: must be a string, got table`},
		},
		{
			name: "wrong type",
			doc:  strings.Replace(base, "[server]\n", "[server]\nlisten = 4180\n", 1),
			want: []string{`cfg.toml:2: server.listen: must be a string, got integer`},
		},
		{
			name: "wrong element type",
			doc:  base + "methods = [\"GET\", 1]\n",
			want: []string{`cfg.toml:17: routes[0].methods[1]: must be a string, got integer`},
		},
	}
	runProblemCases(t, dir, tests)
}

// TestValueProblems covers bad values, missing keys, expansion and secrets.
func TestValueProblems(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "weak-secrets"), "# rotated 2024\n\n"+strings.Repeat("A", 44)+"\n")
	tests := []problemCase{
		{
			name: "bad duration",
			doc:  strings.Replace(base, "[session]\n", "[session]\nlifetime = \"12 hours\"\n", 1),
			want: []string{`cfg.toml:9: session.lifetime: invalid duration "12 hours" (use e.g. "90s", "12h")`},
		},
		{
			name: "zero duration",
			doc:  base + "[[upstreams]]\nname = \"b\"\nurl = \"http://b\"\ntimeout = \"0s\"\n",
			want: []string{
				`cfg.toml:15: routes[0].upstream: required when there is more than one upstream`,
				`cfg.toml:20: upstreams[1].timeout: must be greater than 0, got "0s"`,
			},
		},
		{
			name: "bad URL",
			doc:  strings.Replace(base, `"https://dash.example.com"`, `"dash.example.com"`, 1),
			want: []string{`cfg.toml:2: server.public_url: must be an absolute http:// or https:// URL, got "dash.example.com"`},
		},
		{
			name: "public_url with a query",
			doc:  strings.Replace(base, `"https://dash.example.com"`, `"https://dash.example.com/?a=b"`, 1),
			want: []string{`cfg.toml:2: server.public_url: URL "https://dash.example.com/?a=b" must not have a query or fragment`},
		},
		{
			name: "missing public_url names the table header",
			doc:  strings.Replace(base, "public_url = \"https://dash.example.com\"\n", "listen = \":8080\"\n", 1),
			want: []string{`cfg.toml:1: server.public_url: required`},
		},
		{
			name: "missing table names the last line",
			doc:  strings.Replace(base, "[server]\npublic_url = \"https://dash.example.com\"\n", "\n\n", 1),
			want: []string{`cfg.toml:16: server.public_url: required; the file has no [server] table`},
		},
		{
			name: "missing route upstream",
			doc:  base + "[[upstreams]]\nname = \"api\"\nurl = \"http://127.0.0.1:8080\"\n",
			want: []string{`cfg.toml:15: routes[0].upstream: required when there is more than one upstream`},
		},
		{
			name: "unknown route upstream",
			doc:  base + "upstream = \"api\"\n",
			want: []string{`cfg.toml:17: routes[0].upstream: no [[upstreams]] entry is named "api"`},
		},
		{
			name: "unset variable",
			doc:  strings.Replace(base, `client_id = "client"`, `client_id = "${CLIENT_ID}"`, 1),
			want: []string{`cfg.toml:6: provider.client_id: environment variable CLIENT_ID is not set`},
		},
		{
			name: "unset variable in an array and an inline table",
			doc:  base + "allow_groups = [\"a\", \"${GROUP}\"]\nrequire_claims = { tenant = \"${TENANT}\" }\n",
			env:  map[string]string{"GROUP": "admins"},
			want: []string{`cfg.toml:18: routes[0].require_claims.tenant: environment variable TENANT is not set`},
		},
		{
			name: "unreadable secrets_file",
			doc:  strings.Replace(base, `secrets = ["`+goodSecret+`"]`, `secrets_file = "missing"`, 1),
			want: []string{`cfg.toml:9: session.secrets_file: cannot read file: open ` + filepath.Join(dir, "missing") + `: no such file or directory`},
		},
		{
			name: "both X and X_file",
			doc:  strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret = \"s\"\nclient_secret_file = \"secret\"\n", 1),
			want: []string{`cfg.toml:8: provider.client_secret_file: give either client_secret or client_secret_file, not both`},
		},
		{
			name: "low-entropy secret",
			doc:  strings.Replace(base, goodSecret, strings.Repeat("A", 43)+"=", 1),
			want: []string{`cfg.toml:9: session.secrets[0]: secret has too little entropy (1 distinct bytes, 0.0 bits/byte; need 16 and 3.5): generate it with a random source`},
		},
		{
			name: "low-entropy secret from a file",
			doc:  strings.Replace(base, `secrets = ["`+goodSecret+`"]`, `secrets_file = "weak-secrets"`, 1),
			want: []string{`cfg.toml:9: session.secrets_file: line 3 of the file: secret has too little entropy (1 distinct bytes, 0.0 bits/byte; need 16 and 3.5): generate it with a random source`},
		},
		{
			name: "lower-case method",
			doc:  base + "methods = [\"GET\", \"post\"]\n",
			want: []string{`cfg.toml:17: routes[0].methods[1]: methods are upper-case tokens such as "GET", got "post"`},
		},
		{
			name: "bad glob via policy",
			doc:  base + "[[routes]]\npath = \"/admin**\"\n",
			want: []string{`cfg.toml:18: routes[1].path: "admin**": "*" and "**" must be a whole segment`},
		},
		{
			name: "no routes",
			doc:  strings.TrimSuffix(base, "[[routes]]\npath = \"/**\"\n"),
			want: []string{`cfg.toml:14: routes: at least one [[routes]] entry is required (nothing is allowed by default)`},
		},
	}
	runProblemCases(t, dir, tests)
}

// TestSeveralProblems checks that every problem is reported, in line order.
func TestSeveralProblems(t *testing.T) {
	runProblemCases(t, t.TempDir(), []problemCase{
		{
			name: "several problems, in line order",
			doc: `[server]
listen = "4180"
public_url = "ftp://dash.example.com"
prefix = "/oauth2/"

[provider]
issuer = "https://accounts.google.com"
scopes = "openid"

[session]
secrets = ["` + goodSecret + `"]
store = "memcached"
lifetime = "forever"

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
timeout = 30

[[routes]]
path = "/**"
methods = ["get"]
colour = "blue"
`,
			want: []string{
				`cfg.toml:2: server.listen: must be host:port, got "4180"`,
				`cfg.toml:3: server.public_url: must be an absolute http:// or https:// URL, got "ftp://dash.example.com"`,
				`cfg.toml:4: server.prefix: must not end with "/", got "/oauth2/"`,
				`cfg.toml:6: provider.client_id: required`,
				`cfg.toml:8: provider.scopes: must be an array of strings, got string`,
				`cfg.toml:12: session.store: must be "cookie" or "redis", got "memcached"`,
				`cfg.toml:13: session.lifetime: invalid duration "forever" (use e.g. "90s", "12h")`,
				`cfg.toml:18: upstreams[0].timeout: must be a string, got integer`,
				`cfg.toml:22: routes[0].methods[0]: methods are upper-case tokens such as "GET", got "get"`,
				`cfg.toml:23: routes[0].colour: unknown key`,
			},
		},
	})
}

type problemCase struct {
	name string
	doc  string
	env  map[string]string
	want []string
}

// runProblemCases parses each case's document in dir and compares the
// problems, in order, with the expected strings.
func runProblemCases(t *testing.T, dir string, tests []problemCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parseDoc(t, dir, tc.doc, tc.env)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.toml"), nil)
	var ps Problems
	if err == nil || errors.As(err, &ps) {
		t.Fatalf("Load of a missing file = %v, want a plain error", err)
	}
	if !strings.HasPrefix(err.Error(), "config: ") {
		t.Errorf("error %q does not start with the package name", err)
	}
}

func TestLineIndex(t *testing.T) {
	doc := `[provider]
auth_params = { access_type = "offline",
  hd = "example.com" }

[[provider.extra_issuers]]
issuer = "https://a"
[[provider.extra_issuers]]
audiences = [
  "x",
  "y",
]
[[routes]]
[[routes]]
path = "/x"
headers.claims."X-Tenant" = "t"
`
	idx, err := indexLines([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"provider":                               1,
		"provider.auth_params":                   2,
		"provider.auth_params.access_type":       2,
		"provider.auth_params.hd":                3,
		"provider.extra_issuers":                 5,
		"provider.extra_issuers[0]":              5,
		"provider.extra_issuers[0].issuer":       6,
		"provider.extra_issuers[1]":              7,
		"provider.extra_issuers[1].audiences":    8,
		"provider.extra_issuers[1].audiences[1]": 10,
		"routes[0]":                              12,
		"routes[1]":                              13,
		"routes[1].path":                         14,
		"routes[1].headers.claims.X-Tenant":      15,
	}
	for k, w := range want {
		if got := idx[k]; got != w {
			t.Errorf("line of %s = %d, want %d", k, got, w)
		}
	}
}

func TestParentPath(t *testing.T) {
	for in, want := range map[string]string{
		"a.b":                  "a",
		"routes[2]":            "routes",
		"routes[2].path":       "routes[2]",
		`headers.claims."a.b"`: "headers.claims",
		`x."a.b".c`:            `x."a.b"`,
		"server":               "",
	} {
		if got := parentPath(in); got != want {
			t.Errorf("parentPath(%q) = %q, want %q", in, got, want)
		}
	}
}
