package config

import (
	"strings"
	"testing"
)

// TestSyntaxProblemsNameKeyAndColumn: a TOML syntax error as a person makes
// it editing the example names the line, the column (in characters) and,
// where the broken line begins a "key = value", that key under its table;
// an array left open names the line its value opens on, and the messages
// that say only what the parser met say what is likely missing.
func TestSyntaxProblemsNameKeyAndColumn(t *testing.T) {
	dir := t.TempDir()
	swap := func(old, new string) string { return strings.Replace(base, old, new, 1) }
	runProblemCases(t, dir, []problemCase{
		{
			name: "string left open",
			doc:  swap(`client_id = "client"`, `client_id = "client`),
			want: []string{`cfg.toml:6: provider.client_id: basic strings cannot have new lines: the string's closing " is missing (column 20)`},
		},
		{
			name: "literal string left open",
			doc:  swap(`client_id = "client"`, `client_id = 'client`),
			want: []string{`cfg.toml:6: provider.client_id: literal strings cannot have new lines: the string's closing ' is missing (column 20)`},
		},
		{
			name: "table header without its ]",
			doc:  swap("[session]", "[session"),
			want: []string{`cfg.toml:8: toml: expected ']' to close table name (column 9)`},
		},
		{
			name: "array left open over several lines",
			doc:  swap("[server]\n", "[server]\ntrusted_proxies = [\"10.0.0.0/8\",\n  \"127.0.0.1\"\nlisten = \":4180\"\n"),
			want: []string{`cfg.toml:4: server.trusted_proxies: expected ',' or ']' after array value (column 1; the value opens on line 2)`},
		},
		{
			name: "inline table left open, in a route",
			doc:  base + "require_claims = { hd = \"example.com\"\nname = \"x\"\n",
			want: []string{`cfg.toml:18: routes[0].require_claims: expected ',' or '}' after inline table key-value (column 1; the value opens on line 17)`},
		},
		{
			name: "two values on one line",
			doc:  base + "allow_groups = [\"a\"] public = true\n",
			want: []string{`cfg.toml:17: routes[0].allow_groups: expected newline but got U+0070 'p' (column 22)`},
		},
		{
			name: "bad escape, column in characters after é",
			doc:  swap("[server]\n", "[server]\n# café\nlisten = \"é\\q\"\n"),
			want: []string{`cfg.toml:3: server.listen: invalid escape character U+0071 'q' (column 12)`},
		},
		{
			name: "Latin-1 byte in a string",
			doc:  swap(`client_id = "client"`, "client_id = \"cli\xe9nt\""),
			want: []string{`cfg.toml:6: provider.client_id: invalid UTF-8 character in basic string: save the file as UTF-8 (column 17)`},
		},
		{
			name: "Latin-1 byte in a comment",
			doc:  swap("[session]", "# caf\xe9\n[session]"),
			want: []string{`cfg.toml:8: toml: invalid UTF-8 character in comment: save the file as UTF-8 (column 6)`},
		},
		{
			name: "integer too large",
			doc:  swap("[server]\n", "[server]\nmax_connections = 99999999999999999999\n"),
			want: []string{`cfg.toml:2: server.max_connections: decimal number is too large to fit in a 64-bit signed integer (column 19)`},
		},
		{
			name: "key twice in an inline table",
			doc:  base + "require_claims = { hd = \"a\", hd = \"b\" }\n",
			want: []string{`cfg.toml:17: routes[0].require_claims: key hd is already defined (column 1)`},
		},
		{
			name: "table twice",
			doc:  base + "[session]\ncookie_name = \"x\"\n",
			want: []string{`cfg.toml:17: session: table session already exists (column 2)`},
		},
		{
			name: "key in [provider.auth_params] left open, after a UTF-8 BOM and CRLF",
			doc:  "\uFEFF" + strings.ReplaceAll(swap("[session]", "[provider.auth_params]\nhd = \"example.com\n\n[session]"), "\n", "\r\n"),
			want: []string{`cfg.toml:9: provider.auth_params.hd: basic strings cannot have new lines: the string's closing " is missing (column 18)`},
		},
		{
			name: "missing = after a key",
			doc:  swap("[server]\n", "[server]\nlisten \":4180\"\n"),
			want: []string{`cfg.toml:2: toml: expected '=' after key (column 8)`},
		},
	})
}

// TestSyntaxProblemsShowNoSecret: a syntax error on a line whose key may
// hold a secret (or whose key cannot be named) does not quote the
// character or the number the parser met there; other keys' do.
func TestSyntaxProblemsShowNoSecret(t *testing.T) {
	dir := t.TempDir()
	swap := func(old, new string) string { return strings.Replace(base, old, new, 1) }
	runProblemCases(t, dir, []problemCase{
		{
			name: "stray quote in client_secret",
			doc:  swap(`client_id = "client"`, `client_id = "client"`+"\nclient_secret = \"ab\"Zq9\""),
			want: []string{`cfg.toml:7: provider.client_secret: expected newline but got a character not shown (the line may hold a secret) (column 21)`},
		},
		{
			name: "bad escape in a secret list",
			doc:  swap(`secrets = ["`+goodSecret+`"]`, `secrets = ["ab\Zq9"]`),
			want: []string{`cfg.toml:9: session.secrets: invalid escape character a character not shown (the line may hold a secret) (column 15)`},
		},
		{
			name: "number out of range in client_secret",
			doc:  swap(`client_id = "client"`, `client_id = "client"`+"\nclient_secret = 1.5e99999"),
			want: []string{`cfg.toml:7: provider.client_secret: unable to parse float: strconv.ParseFloat: parsing a value not shown (the line may hold a secret): value out of range (column 17)`},
		},
		{
			name: "stray quote in an upstream URL's password",
			doc:  swap(`url = "http://127.0.0.1:3000"`, `url = "http://app:hunter"2@127.0.0.1:3000"`),
			want: []string{`cfg.toml:13: upstreams[0].url: expected newline but got a character not shown (the line may hold a secret) (column 26)`},
		},
		{
			name: "stray quote in directory_url's user information",
			doc:  swap(`client_id = "client"`, `client_id = "client"`+"\ndirectory_url = \"https://u:pw\"Xq@h/\""),
			want: []string{`cfg.toml:7: provider.directory_url: expected newline but got a character not shown (the line may hold a secret) (column 31)`},
		},
		{
			name: "bad escape in a URL on an array's later line",
			doc:  base + "allow_groups = [\n  \"https://idp/?t=ab\\Zq9\",\n]\n",
			want: []string{`cfg.toml:18: routes[0].allow_groups: invalid escape character a character not shown (the line may hold a secret) (column 21; the value opens on line 17)`},
		},
		{
			name: "other keys keep the character",
			doc:  base + "allow_groups = [\"a\"] public = true\n",
			want: []string{`cfg.toml:17: routes[0].allow_groups: expected newline but got U+0070 'p' (column 22)`},
		},
	})
}
