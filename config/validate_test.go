package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// section inserts lines right after the header of a table of base (header
// lines: [server] 1, [provider] 4, [session] 8, [[upstreams]] 11, [[routes]] 15),
// so inserted lines start at header + 1.
func section(header, lines string) string {
	return strings.Replace(base, header+"\n", header+"\n"+lines+"\n", 1)
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"prefix without slash", section("[server]", `prefix = "oauth2"`),
			[]string{`cfg.toml:2: server.prefix: must start with "/", got "oauth2"`}},
		{"prefix alone", section("[server]", `prefix = "/"`),
			[]string{`cfg.toml:2: server.prefix: must not be "/" alone (the gateway's endpoints need their own path)`}},
		{"prefix with dot segment", section("[server]", `prefix = "/a/../b"`),
			[]string{`cfg.toml:2: server.prefix: must be a clean path without . or .. segments, //, ?, #, %, ; or \, got "/a/../b"`}},
		{"prefix that requests spell otherwise", section("[server]", `prefix = "/{gw}"`),
			[]string{`cfg.toml:2: server.prefix: must be spelled as requests name it: ASCII letters, digits, /, -, ., _, ~ and !$&'()*+,=:@, got "/{gw}"`}},
		{"prefix not in ASCII", section("[server]", `prefix = "/über"`),
			[]string{`cfg.toml:2: server.prefix: must be spelled as requests name it: ASCII letters, digits, /, -, ., _, ~ and !$&'()*+,=:@, got "/über"`}},
		{"negative shutdown delay", section("[server]", `shutdown_delay = "-1s"`),
			[]string{`cfg.toml:2: server.shutdown_delay: must not be negative, got "-1s"`}},
		{"bad shutdown delay", section("[server]", `shutdown_delay = 5`),
			[]string{`cfg.toml:2: server.shutdown_delay: must be a string, got integer`}},
		{"negative max_connections", section("[server]", `max_connections = -1`),
			[]string{`cfg.toml:2: server.max_connections: must be between 0 and 1073741824, got -1`}},
		{"negative upgrade_idle_timeout", section("[server]", `upgrade_idle_timeout = "-1s"`),
			[]string{`cfg.toml:2: server.upgrade_idle_timeout: must not be negative, got "-1s"`}},
		{"upgrade_idle_timeout as a number", section("[server]", `upgrade_idle_timeout = 60`),
			[]string{`cfg.toml:2: server.upgrade_idle_timeout: must be a string, got integer`}},
		{"max_connections as a string", section("[server]", `max_connections = "10000"`),
			[]string{`cfg.toml:2: server.max_connections: must be an integer, got string`}},
		{"bad ops_listen", section("[server]", `ops_listen = "localhost"`),
			[]string{`cfg.toml:2: server.ops_listen: must be host:port, got "localhost"`}},
		{"bad trusted proxy", section("[server]", `trusted_proxies = ["10.0.0.0/8", "ten"]`),
			[]string{`cfg.toml:2: server.trusted_proxies[1]: must be a CIDR (10.0.0.0/8) or an IP address, got "ten"`}},
		{"bad redirect host", section("[server]", "allowed_redirect_hosts = [\n \"ok.example.com:8443\",\n \"https://evil.example.com\",\n \"*.*.example.com\"]"),
			[]string{
				`cfg.toml:4: server.allowed_redirect_hosts[1]: must be "host", "host:port" or "*.domain", got "https://evil.example.com"`,
				`cfg.toml:5: server.allowed_redirect_hosts[2]: must be "host", "host:port" or "*.domain", got "*.*.example.com"`,
			}},
		{"oauth2-proxy's whitelist domains", section("[server]", "allowed_redirect_hosts = [\n \".example.com\",\n \"example.com:*\"]"),
			[]string{
				`cfg.toml:3: server.allowed_redirect_hosts[0]: must be "host", "host:port" or "*.domain", got ".example.com": for oauth2-proxy's ".example.com" write "*.example.com" and "example.com"`,
				`cfg.toml:4: server.allowed_redirect_hosts[1]: must be "host", "host:port" or "*.domain", got "example.com:*": a port is exact; list each "host:port"`,
			}},
		{"tls cert without key", section("[server]", `tls_cert_file = "cert.pem"`),
			[]string{`cfg.toml:2: server.tls_cert_file: tls_cert_file and tls_key_file go together: set both or neither`}},
		{"bad kind", section("[provider]", `kind = "saml"`),
			[]string{`cfg.toml:5: provider.kind: must be "oidc", "oauth2", "github", "google" or "entra", got "saml"`}},
		{"issuer missing entirely", strings.Replace(base, `issuer = "https://accounts.google.com"`, "", 1),
			[]string{`cfg.toml:4: provider.issuer: required (or authorization_url, token_url and userinfo_url for plain OAuth 2.0)`}},
		{"oauth2 needs the trio", strings.Replace(base, `issuer = "https://accounts.google.com"`, `token_url = "https://p/token"`, 1),
			[]string{
				`cfg.toml:4: provider.authorization_url: required without an issuer (plain OAuth 2.0)`,
				`cfg.toml:4: provider.userinfo_url: required without an issuer (plain OAuth 2.0)`,
			}},
		{"oidc with an endpoint", section("[provider]", `token_url = "https://p/token"`),
			[]string{`cfg.toml:5: provider.token_url: not used with an OIDC issuer (discovery provides it); remove it or set kind = "oauth2"`}},
		{"empty claim", section("[provider]", `email_claim = ""`),
			[]string{`cfg.toml:5: provider.email_claim: must not be empty`}},
		{"extra issuer needs audiences", base + "[[provider.extra_issuers]]\nissuer = \"https://k8s\"\n",
			[]string{`cfg.toml:17: provider.extra_issuers[0].audiences: required: at least one accepted audience`}},
		{"redis without address", section("[session]", `store = "redis"`),
			[]string{`cfg.toml:9: session.store: store = "redis" needs exactly one of redis_url, redis_cluster_addrs and redis_sentinel_addrs (found 0)`}},
		{"redis with two addresses", section("[session]", "store = \"redis\"\nredis_url = \"redis://r:6379\"\nredis_cluster_addrs = [\"r:6379\"]"),
			[]string{`cfg.toml:9: session.store: store = "redis" needs exactly one of redis_url, redis_cluster_addrs and redis_sentinel_addrs (found 2)`}},
		{"redis url scheme", section("[session]", "store = \"redis\"\nredis_url = \"http://r:6379\""),
			[]string{`cfg.toml:10: session.redis_url: must be a redis:// or rediss:// URL`}},
		{"sentinel needs master", section("[session]", "store = \"redis\"\nredis_sentinel_addrs = [\"s:26379\"]"),
			[]string{`cfg.toml:8: session.redis_sentinel_master: required with redis_sentinel_addrs`}},
		{"bad header name", base + "[headers]\nuser = \"X User\"\n",
			[]string{`cfg.toml:18: headers.user: invalid HTTP header name "X User"`}},
		{"reserved header", base + "[headers]\nemail = \"Cookie\"\n",
			[]string{`cfg.toml:18: headers.email: header "Cookie" cannot carry identity`}},
		{"header used twice", base + "[headers]\ngroups = \"x_forwarded_user\"\n",
			[]string{`cfg.toml:18: headers.groups: header "x_forwarded_user" is already used by headers.user`}},
		{"unreadable assertion key", base + "[headers]\nassertion_key_file = \"/nonexistent/key.pem\"\n",
			[]string{`cfg.toml:18: headers.assertion_key_file: cannot read file: open /nonexistent/key.pem: no such file or directory`}},
		{"bad log level", base + "[log]\nlevel = \"verbose\"\n",
			[]string{`cfg.toml:18: log.level: must be "debug", "info", "warn" or "error", got "verbose"`}},
		{"duplicate upstream", base + "[[upstreams]]\nname = \"app\"\nurl = \"http://b\"\n",
			[]string{
				`cfg.toml:15: routes[0].upstream: required when there is more than one upstream`,
				`cfg.toml:18: upstreams[1].name: duplicate upstream name "app"`,
			}},
		{"reserved auth param", section("[provider]", `auth_params = { state = "fixed" }`),
			[]string{`cfg.toml:5: provider.auth_params.state: is set by the gateway itself and cannot be overridden (state, nonce, PKCE, redirect_uri, client_id, response_type and mode, scope, request objects)`}},
		{"max_age not seconds", section("[provider]", `auth_params = { max_age = "1h" }`),
			[]string{`cfg.toml:5: provider.auth_params.max_age: must be a number of seconds, got "1h"`}},
		{"pprof without ops listener", section("[server]", "ops_listen = \"\"\npprof = true"),
			[]string{`cfg.toml:3: server.pprof: needs the ops listener (ops_listen is empty); the profiler is never served on the gateway listener`}},
		{"bad flush interval", section("[[upstreams]]", `flush_interval = "soon"`),
			[]string{`cfg.toml:12: upstreams[0].flush_interval: invalid duration "soon" (use e.g. "90s", "12h")`}},
		{"bad assertion audience", section("[[upstreams]]", `assertion_audience = "my app"`),
			[]string{`cfg.toml:12: upstreams[0].assertion_audience: must be 1 to 255 printable characters without spaces, got "my app"`}},
		{"route without path", base + "[[routes]]\nupstream = \"app\"\n",
			[]string{`cfg.toml:17: routes[1].path: required`}},
		{"bad route host", base + "host = \"dash.example.com:443\"\n",
			[]string{`cfg.toml:17: routes[0].host: must be a host name or "*.domain" (no port), got "dash.example.com:443"`}},
		{"numeric route host no Host can name", base + "host = \"1.2.3\"\n",
			[]string{`cfg.toml:17: routes[0].host: must be a host name or "*.domain" (no port), got "1.2.3"`}},
		{"wildcard route host over an IPv4 address", base + "host = \"*.10.0.0.1\"\n",
			[]string{`cfg.toml:17: routes[0].host: must be a host name or "*.domain" (no port), got "*.10.0.0.1"`}},
		{"float claim", base + "require_claims = { level = 1.5 }\n",
			[]string{`cfg.toml:17: routes[0].require_claims.level: must be a string, boolean or integer, got float`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := parseDoc(t, t.TempDir(), tc.doc, nil)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name, issuer string
		want         []string
	}{
		{"https", "https://idp.example.com", nil},
		{"http on loopback", "http://127.0.0.1:9000", nil},
		{"http on localhost", "http://localhost:9000", nil},
		// The gateway's resolver asks DNS for a name under .localhost
		// (only browsers keep such names on loopback themselves).
		{"http under .localhost", "http://idp.localhost:9000",
			[]string{`cfg.toml:5: provider.issuer: warning: http:// issuer "http://idp.localhost:9000": discovery, keys and tokens travel unencrypted; use https`}},
		{"http elsewhere", "http://idp.example.com",
			[]string{`cfg.toml:5: provider.issuer: warning: http:// issuer "http://idp.example.com": discovery, keys and tokens travel unencrypted; use https`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(base, "https://accounts.google.com", tc.issuer, 1)
			cfg := mustParse(t, t.TempDir(), doc, nil)
			got := warningsFrom(cfg)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("warnings %q, want %q", got, tc.want)
			}
		})
	}
}

// warningsFrom is cfg's warnings from the file name on (cfg.toml:LINE: …),
// without the temporary directory before it.
func warningsFrom(cfg *Config) []string {
	var got []string
	for _, w := range cfg.Warnings {
		got = append(got, w[strings.LastIndex(w, "cfg.toml"):])
	}
	return got
}

func TestProviderKinds(t *testing.T) {
	t.Run("github defaults", func(t *testing.T) {
		doc := strings.Replace(base, `issuer = "https://accounts.google.com"`, `kind = "github"`, 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		p := cfg.Provider
		if p.Kind != "github" || p.AuthorizationURL != githubAuthURL || p.TokenURL != githubTokenURL || p.UserinfoURL != githubUserinfoURL {
			t.Errorf("github endpoints not defaulted: %+v", p)
		}
		if strings.Join(p.Scopes, " ") != "read:user user:email read:org" {
			t.Errorf("github scopes = %q", p.Scopes)
		}
	})
	t.Run("plain oauth2", func(t *testing.T) {
		doc := strings.Replace(base, `issuer = "https://accounts.google.com"`,
			"authorization_url = \"https://p/auth\"\ntoken_url = \"https://p/token\"\nuserinfo_url = \"https://p/me\"", 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		if cfg.Provider.Kind != "oauth2" || cfg.Provider.UserinfoURL != "https://p/me" {
			t.Errorf("provider = %+v", cfg.Provider)
		}
	})
}

// TestAssertionKeyProblems checks that keys the proxy cannot sign with are
// refused at load, with the proxy's own reason.
func TestAssertionKeyProblems(t *testing.T) {
	dir := t.TempDir()
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(p384)
	weak := filepath.Join(dir, "p384.pem")
	os.WriteFile(weak, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a key"), 0o600)
	// A further key is listed in jwks.json: it must be one that could sign.
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der256, _ := x509.MarshalECPrivateKey(p256)
	further := filepath.Join(dir, "further.pem")
	os.WriteFile(further, append(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der256}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})...), 0o600)
	for name, tc := range map[string]struct{ file, want string }{
		"P-384":         {weak, "want a P-256 EC key, got curve P-384"},
		"no PEM":        {junk, "no PEM private key found"},
		"further P-384": {further, "want a P-256 EC key, got curve P-384"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(base+"[headers]\nassertion_key_file = \""+tc.file+"\"\n"), nil)
			if err == nil || !strings.Contains(err.Error(), "cfg.toml:18: headers.assertion_key_file: "+tc.file+": ") ||
				!strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want the line, the file and %q", err, tc.want)
			}
		})
	}
}

// TestProblemsNeverEchoURLCredentials: a URL with a password is refused
// ("must not contain user information"), and the problem, which `portcullis
// check` prints and a SIGHUP reload logs, never quotes the password, even
// when the value came from an environment variable.
func TestProblemsNeverEchoURLCredentials(t *testing.T) {
	const pw = "hunter2-s3cr3t"
	dir := t.TempDir()
	upstreamURL := `url = "http://127.0.0.1:3000"`
	cases := []struct {
		name, doc string
		env       map[string]string
	}{
		{"upstream url", strings.Replace(base, upstreamURL, `url = "http://admin:`+pw+`@127.0.0.1:3000"`, 1), nil},
		{"upstream url from the environment", strings.Replace(base, upstreamURL, `url = "${APP_URL}"`, 1),
			map[string]string{"APP_URL": "http://admin:" + pw + "@127.0.0.1:3000"}},
		{"introspection url", strings.Replace(base, `client_id = "client"`,
			`client_id = "client"`+"\n"+`introspection_url = "https://svc:`+pw+`@idp.example.com/introspect"`, 1), nil},
		// Without "//" the URL parses with the password in its opaque part.
		{"upstream url without //", strings.Replace(base, upstreamURL, `url = "admin:`+pw+`@127.0.0.1:3000"`, 1), nil},
		{"issuer with scheme, without //", strings.Replace(base, `issuer = "https://accounts.google.com"`,
			`issuer = "https:admin:`+pw+`@accounts.google.com"`, 1), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, problems := parseDoc(t, dir, c.doc, c.env)
			if len(problems) == 0 {
				t.Fatal("no problem reported")
			}
			for _, p := range problems {
				if strings.Contains(p, pw) {
					t.Errorf("problem echoes the password: %s", p)
				}
			}
		})
	}
}

func TestWithoutUserinfo(t *testing.T) {
	for raw, want := range map[string]string{
		"http://admin:pw@h:3000/p?q=a@b": "http://h:3000/p?q=a@b",
		"https://tok@h":                  "https://h",
		"http://a@b@h/x":                 "http://h/x",
		"http://h/p@x":                   "http://h/p@x",
		"http://%zz:pw@h":                "http://h",
		"http://admin:pa/ss%zz@h:3000":   "http://h:3000",
		"http://a:b?c#d%@h/x":            "http://h/x",
		"no scheme@h":                    "no scheme@h",
		"admin:pw@h:3000":                "h:3000",
		"https:admin:pw@h/x":             "h/x",
		"mailto:a@h":                     "h",
	} {
		if got := withoutUserinfo(raw); got != want {
			t.Errorf("withoutUserinfo(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestPprofWarning: the profiler on an ops listener bound to every
// interface is warned about; on loopback it is not.
func TestPprofWarning(t *testing.T) {
	for _, tc := range []struct {
		ops  string
		warn bool
	}{{":9180", true}, {"0.0.0.0:9180", true}, {"127.0.0.1:9180", false}, {"localhost:9180", false},
		{"ops.localhost:9180", true}, {"[::1]:9180", false}} {
		doc := section("[server]", "ops_listen = \""+tc.ops+"\"\npprof = true")
		cfg := mustParse(t, t.TempDir(), doc, nil)
		got := strings.Contains(strings.Join(cfg.Warnings, "\n"), "server.pprof: warning: the profiler answers anyone")
		if got != tc.warn {
			t.Errorf("ops_listen %q: warned %v, want %v (%q)", tc.ops, got, tc.warn, cfg.Warnings)
		}
	}
}

// TestProblemsNeverEchoPasswordWithSlash: a password may hold '/', '?' or
// '#' (generated secrets often do); the URL then does not parse, and the
// problem still does not quote it.
func TestProblemsNeverEchoPasswordWithSlash(t *testing.T) {
	dir := t.TempDir()
	upstreamURL := `url = "http://127.0.0.1:3000"`
	cases := []struct{ name, pw, doc string }{
		{"upstream url, / in password", "hunter2/s3cr3t",
			strings.Replace(base, upstreamURL, `url = "http://admin:hunter2/s3cr3t@127.0.0.1:3000"`, 1)},
		{"upstream url, # in password", "hunter2#s3cr3t",
			strings.Replace(base, upstreamURL, `url = "http://admin:hunter2#s3cr3t@127.0.0.1:3000"`, 1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, problems := parseDoc(t, dir, c.doc, nil)
			if len(problems) == 0 {
				t.Fatal("no problem reported")
			}
			for _, p := range problems {
				if strings.Contains(p, strings.SplitN(c.pw, "/", 2)[0]) || strings.Contains(p, c.pw) {
					t.Errorf("problem echoes the password: %s", p)
				}
			}
		})
	}
}

// TestAuthParamProblemsInKeyOrder: auth_params were checked in the map's
// order, random in Go, so that two refused parameters on one line (an
// inline table) came out of check in either order from one run to the
// next. They come in the order of their names, as require_claims' do.
func TestAuthParamProblemsInKeyOrder(t *testing.T) {
	doc := section("[provider]", `auth_params = { state = "x", nonce = "y", max_age = "1h", "" = "z" }`)
	want := strings.Join([]string{
		`cfg.toml:5: provider.auth_params."": invalid authorization parameter`,
		`cfg.toml:5: provider.auth_params.max_age: must be a number of seconds, got "1h"`,
		`cfg.toml:5: provider.auth_params.nonce: is set by the gateway itself and cannot be overridden (state, nonce, PKCE, redirect_uri, client_id, response_type and mode, scope, request objects)`,
		`cfg.toml:5: provider.auth_params.state: is set by the gateway itself and cannot be overridden (state, nonce, PKCE, redirect_uri, client_id, response_type and mode, scope, request objects)`,
	}, "\n")
	for i := 0; i < 20; i++ {
		_, got := parseDoc(t, t.TempDir(), doc, nil)
		if g := strings.Join(got, "\n"); g != want {
			t.Fatalf("load %d: problems:\n%s\nwant:\n%s", i, g, want)
		}
	}
}
