package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkGood is a valid configuration; the line numbers of its routes are
// asserted below (routes[1] starts on line 20, routes[2] on line 28).
const checkGood = `[server]
public_url = "https://dash.example.com"

[provider]
issuer = "https://accounts.example.com"
client_id = "client"
client_secret = "secret"

[session]
secrets = ["/Via1yk4hN8fhwPfb4G1emWUh89OaWAFP4jJ09w2Mb8="]

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"

[[routes]]
path = "/public/**"
public = true

[[routes]]
host = "dash.example.com"
path = "/api/**"
methods = ["POST"]
require_scopes = ["a"]
allow_groups = ["admins"]
require_claims = { hd = "example.com" }

[[routes]]
path = "/admin/**"
allow_emails = ["boss@example.com"]
name = "admin"
`

// checkBad has one problem on each of the lines listed in TestCheckProblems.
const checkBad = `[server]
public_url = "not a url"
colour = "blue"

[provider]
issuer = "https://accounts.example.com"

[session]
secrets = ["/Via1yk4hN8fhwPfb4G1emWUh89OaWAFP4jJ09w2Mb8="]
lifetime = "forever"

[[upstreams]]
name = "app"
url = "ftp://127.0.0.1:3000"

[[routes]]
path = "/**"
upstream = "nope"
`

// writeConfig writes doc to DIR/name and returns the path.
func writeConfig(tb testing.TB, name, doc string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestCheckProblems(t *testing.T) {
	path := writeConfig(t, "bad.toml", checkBad)
	r := invoke(t, nil, "check", "--config", path)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	want := []string{
		path + `:2: server.public_url: must be an absolute http:// or https:// URL, got "not a url"`,
		path + `:3: server.colour: unknown key`,
		path + `:5: provider.client_id: required`,
		path + `:10: session.lifetime: invalid duration "forever"`,
		path + `:14: upstreams[0].url: must be an absolute http://, https:// or h2c:// URL, got "ftp://127.0.0.1:3000"`,
		path + `:18: routes[0].upstream: no [[upstreams]] entry is named "nope"`,
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("got %d lines, want %d problems and a summary:\n%s", len(lines), len(want), r.stderr)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], w)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout: %q", r.stdout)
	}
}

func TestCheckValid(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"--config", []string{"check", "--config", path}, nil},
		{"PORTCULLIS_CONFIG", []string{"check"}, map[string]string{"PORTCULLIS_CONFIG": path}},
		{"--config wins over PORTCULLIS_CONFIG", []string{"check", "--config", path},
			map[string]string{"PORTCULLIS_CONFIG": "/nonexistent.toml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, tc.env, tc.args...)
			if r.code != 0 || r.stdout != path+": OK\n" {
				t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// requestCase is one run of check --request against a configuration: the
// request line, the --identity flags, the exit code wanted and the lines
// stdout must contain.
type requestCase struct {
	name     string
	request  string
	identity []string
	code     int
	lines    []string // each must appear in stdout
}

// runRequestCases runs each case as a subtest of its name.
func runRequestCases(t *testing.T, path string, cases []requestCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"check", "--config", path, "--request", tc.request}, tc.identity...)
			r := invoke(t, nil, args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%sstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, l := range tc.lines {
				if !strings.Contains(r.stdout, l) {
					t.Errorf("stdout does not contain %q:\n%s", l, r.stdout)
				}
			}
		})
	}
}

func TestCheckRequest(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	admin := []string{"--identity", "email=a@example.com", "--identity", "scope=a b",
		"--identity", "groups=admins", "--identity", "claims.hd=example.com"}
	cases := []requestCase{
		{"allowed", "POST https://dash.example.com/api/x", admin, 0, []string{
			"path: /api/x",
			`route: routes[1] at ` + path + `:20 (path "/api/**", host "dash.example.com", upstream "app")`,
			"decision: allowed",
		}},
		{"wrong group", "POST https://dash.example.com/api/x", replace(admin, "groups=admins", "groups=staff"), 3, []string{
			`route: routes[1] at ` + path + `:20`, "decision: denied", "reason: not in any of groups: admins",
		}},
		{"missing scope", "POST https://dash.example.com/api/x", replace(admin, "scope=a b", "scope=b"), 3, []string{
			"decision: insufficient_scope", "reason: missing scope a",
		}},
		{"wrong claim", "POST https://dash.example.com/api/x", replace(admin, "claims.hd=example.com", "claims.hd=evil.com"), 3, []string{
			"decision: denied", "hd",
		}},
		{"anonymous", "POST https://dash.example.com/api/x", nil, 3, []string{"decision: unauthenticated"}},
		{"public route, anonymous", "GET https://dash.example.com/public/a/../b", nil, 0, []string{
			"path: /public/b", `route: routes[0] at ` + path + `:16`, "decision: public",
		}},
		{"email rule", "GET https://dash.example.com/admin/", []string{"--identity", "email=Boss@Example.com"}, 0, []string{
			`route: routes[2] ("admin") at ` + path + `:28`, "decision: allowed",
		}},
		{"unverified email", "GET https://dash.example.com/admin/", []string{"--identity", "email=boss@example.com",
			"--identity", "email_verified=false"}, 3, []string{"decision: denied", "reason: email not verified\n"}},
		// A provider that sends no email_verified (Entra ID) is refused with
		// its own reason at the gateway; check explains the same one.
		{"email_verified absent", "GET https://dash.example.com/admin/", []string{"--identity", "email=boss@example.com",
			"--identity", "email_verified=absent"}, 3, []string{"decision: denied", "reason: email not verified (the provider sent no email_verified claim)"}},
		{"other host", "POST https://other.example.com/api/x", admin, 3, []string{"route: none"}},
		{"no route", "GET https://dash.example.com/nothing", admin, 3, []string{"route: none", "no route matches"}},
		{"method not matched", "GET https://dash.example.com/api/x", admin, 3, []string{"route: none"}},
		{"lower-case method", "post https://dash.example.com/api/x", admin, 3, []string{"refused (400)", `"post"`}},
		{"encoded dot-segments leave the public route", "GET https://dash.example.com/public/%2e%2e/admin", nil, 3, []string{
			"path: /admin", `route: routes[2] ("admin") at ` + path + `:28`, "decision: unauthenticated",
		}},
		{"encoded slash", "GET https://dash.example.com/public%2Fadmin", nil, 3, []string{"decision: refused (400)"}},
		{"climbing above the root", "GET https://dash.example.com/../public/x", nil, 3, []string{"decision: refused (400)"}},
	}
	runRequestCases(t, path, cases)
}

func TestCheckRequestUsage(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no URL", []string{"--request", "GET"}, `"METHOD URL"`},
		// An empty --request was taken for none: "OK", exit 0.
		{"empty request", []string{"--request", ""}, `"METHOD URL"`},
		{"empty request with an identity", []string{"--request", " ", "--identity", "sub=a"}, `"METHOD URL"`},
		// A request line cannot hold a space: "/a b" was explained as "/a%20b".
		{"space in the URL", []string{"--request", "GET https://dash.example.com/a b"}, `"METHOD URL"`},
		{"relative URL", []string{"--request", "GET /x"}, "must be absolute"},
		// What no client sends was explained as another request: the
		// fragment, which clients keep to themselves, made a public page a
		// 400 (exit 3, "denied"), and a scheme or user information that
		// serve refuses in a request line was dropped.
		{"port without host", []string{"--request", "GET https://:443/x"}, "must be absolute"},
		{"fragment", []string{"--request", "GET https://dash.example.com/public/x#top"}, "fragment"},
		{"empty fragment", []string{"--request", "GET https://dash.example.com/public/x#"}, "fragment"},
		{"other scheme", []string{"--request", "GET ftp://dash.example.com/admin/"}, "http(s)"},
		{"user information", []string{"--request", "GET https://ann@dash.example.com/admin/"}, "user information"},
		{"empty user information", []string{"--request", "GET https://@dash.example.com/admin/"}, "user information"},
		{"identity without =", []string{"--request", "GET https://dash.example.com/", "--identity", "email"}, "want key=value"},
		{"unknown identity key", []string{"--request", "GET https://dash.example.com/", "--identity", "role=x"}, `unknown key "role"`},
		{"bad email_verified", []string{"--request", "GET https://dash.example.com/", "--identity", "email_verified=maybe"}, "true, false or absent"},
		{"header without a colon", []string{"--request", "COPY https://dash.example.com/", "--header", "Depth 1"}, `want "Name: value"`},
		{"header name with a space", []string{"--request", "COPY https://dash.example.com/", "--header", "De pth: 1"}, `want "Name: value"`},
		{"header value with a newline", []string{"--request", "COPY https://dash.example.com/", "--header", "Depth: 1\nX: y"}, `want "Name: value"`},
		{"credentials as a header", []string{"--request", "GET https://dash.example.com/", "--header", "authorization: Bearer x"}, "credentials are --identity's"},
		{"host as a header", []string{"--request", "GET https://dash.example.com/", "--header", "Host: other.example.com"}, "the host is the --request URL's"},
		{"header without a request", []string{"--header", "Depth: 1"}, "describe a --request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, nil, append([]string{"check", "--config", path}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.msg)
			}
		})
	}
}

// replace returns a copy of args with old replaced by new.
func replace(args []string, old, new string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == old {
			out[i] = new
		}
	}
	return out
}

// checkHead is the 13 lines before the routes of checkAliases and
// checkWebDAV, whose first route is therefore on line 15.
const checkHead = `[server]
public_url = "https://dash.example.com"

[provider]
issuer = "https://accounts.example.com"
client_id = "client"

[session]
secrets = ["/Via1yk4hN8fhwPfb4G1emWUh89OaWAFP4jJ09w2Mb8="]

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
`

// checkAliases has routes that a request reaches through the paths the
// gateway also decides it as (its path without a trailing slash or a
// format suffix) and through a POST's _method.
const checkAliases = checkHead + `
[[routes]]
path = "/admin"
allow_groups = ["admins"]

[[routes]]
path = "/items/*"
methods = ["DELETE"]
allow_groups = ["admins"]

[[routes]]
path = "/**"
`

// TestCheckRequestDecidesAsServe: check --request must give the verdict
// that serve gives the same request. It used to match the path alone, so
// it called "GET /admin/" and "GET /admin.json" allowed for a user whom
// the gateway refuses them (it decides them as "/admin" too), and a POST
// whose query names _method=DELETE allowed where the gateway decides the
// DELETE as well.
func TestCheckRequestDecidesAsServe(t *testing.T) {
	path := writeConfig(t, "aliases.toml", checkAliases)
	staff := []string{"--identity", "sub=bob", "--identity", "groups=staff"}
	admin := []string{"--identity", "sub=ann", "--identity", "groups=admins"}
	cases := []requestCase{
		{"trailing slash", "GET https://dash.example.com/admin/", staff, 3, []string{
			"path: /admin/", `route: routes[0] at ` + path + `:15`, "decision: denied", "reason: not in any of groups: admins"}},
		{"format suffix", "GET https://dash.example.com/admin.json", staff, 3, []string{
			`route: routes[0] at ` + path + `:15`, "decision: denied"}},
		{"trailing slash, anonymous", "GET https://dash.example.com/admin/", nil, 3, []string{"decision: unauthenticated"}},
		{"trailing slash, allowed", "GET https://dash.example.com/admin/", admin, 0, []string{
			`route: routes[2] at ` + path + `:24`, "decision: allowed"}},
		{"_method in the query", "POST https://dash.example.com/items/1?_method=delete", staff, 3, []string{
			`route: routes[1] at ` + path + `:19`, "decision: denied"}},
		{"_method in the query, allowed", "POST https://dash.example.com/items/1?_method=delete", admin, 0, []string{
			"decision: allowed"}},
		{"access_token in the query", "GET https://dash.example.com/x?access_token=t", admin, 3, []string{
			"decision: refused (400)"}},
		{"untouched", "GET https://dash.example.com/administrator", staff, 0, []string{
			`route: routes[2] at ` + path + `:24`, "decision: allowed"}},
	}
	runRequestCases(t, path, cases)
}

// TestCheckRequestGatewayEndpoint: a path under server.prefix is answered
// by serve itself (docs/endpoints.md), on every host and whatever the
// routes say. check --request used to call every such path "refused" and
// exit 3, the forward-auth endpoint and the callback included, which serve
// answers; it now names the endpoint and exits 0, and gives serve's 404
// (exit 3) for a path under the prefix that names no endpoint.
func TestCheckRequestGatewayEndpoint(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	cases := []struct {
		request string
		code    int
		lines   []string
	}{
		{"GET https://dash.example.com/oauth2/auth", 0, []string{"path: /oauth2/auth",
			"route: none: the path is the gateway's own endpoint /auth under server.prefix", "decision: gateway endpoint"}},
		{"GET https://other.example.com/oauth2/callback?code=c&state=s", 0, []string{"endpoint /callback", "decision: gateway endpoint"}},
		{"POST https://dash.example.com/oauth2/sign_out", 0, []string{"endpoint /sign_out"}},
		{"GET https://dash.example.com/oauth2/jwks.json", 0, []string{"endpoint /jwks.json"}},
		{"GET https://dash.example.com/oauth2/nothing", 3, []string{"decision: refused (404): no such gateway endpoint"}},
		{"GET https://dash.example.com/oauth2", 3, []string{"decision: refused (404)"}},
		// Not under the prefix: the routes decide it.
		{"GET https://dash.example.com/oauth2x/auth", 3, []string{"route: none", "no route matches"}},
	}
	var runs []requestCase
	for _, tc := range cases {
		runs = append(runs, requestCase{name: tc.request, request: tc.request, code: tc.code, lines: tc.lines})
	}
	runRequestCases(t, path, runs)
}

// TestCheckRedirectHostNamesItsLine: an allowed_redirect_hosts entry that
// serve cannot use is a problem on its own line (FILE:LINE: key: message),
// never the line-less "serve would refuse this configuration" of a check
// that only the gateway's start caught, and never accepted as an entry
// that can match no return URL. IPv6 literals (rd hosts are ASCII letters,
// digits, ".", "-" and "_" only), a signed port or a port with a leading
// zero (ports compare as the browser writes them), and a bracketed IPv4
// address used to get one or the other.
func TestCheckRedirectHostNamesItsLine(t *testing.T) {
	for _, entry := range []string{"[::1]", "::1", "[::1]:8080", "a.example.com:+443",
		"a.example.com:0443", "[10.0.0.1]", "*.example.com:08443"} {
		t.Run(entry, func(t *testing.T) {
			doc := strings.Replace(checkGood, `public_url = "https://dash.example.com"`,
				"public_url = \"https://dash.example.com\"\nallowed_redirect_hosts = [\""+entry+"\"]", 1)
			path := writeConfig(t, "redirect.toml", doc)
			r := invoke(t, nil, "check", "--config", path)
			want := path + ":3: server.allowed_redirect_hosts[0]: "
			if r.code != 2 || !strings.HasPrefix(r.stderr, want) || strings.Contains(r.stderr, "serve would refuse") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and a line starting %q", r.code, r.stderr, want)
			}
		})
	}
	for _, entry := range []string{"app.example.com", "app.example.com:8443", "*.example.com", "10.0.0.1:8080", "App.Example.com."} {
		doc := strings.Replace(checkGood, `public_url = "https://dash.example.com"`,
			"public_url = \"https://dash.example.com\"\nallowed_redirect_hosts = [\""+entry+"\"]", 1)
		if r := invoke(t, nil, "check", "--config", writeConfig(t, "redirect.toml", doc)); r.code != 0 {
			t.Errorf("%q: exit %d\n%s", entry, r.code, r.stderr)
		}
	}
}

// TestCheckStrictCookieNeverReachesHost: routes for two app hosts and
// public_url on a third, without session.cookie_domain: users of the apps
// sign in, come back without the host-only cookie and sign in again. check
// warns at each host's line and names the cookie_domain to set; --strict
// fails, and passes once it is set.
func TestCheckStrictCookieNeverReachesHost(t *testing.T) {
	doc := strings.Replace(checkGood, `public_url = "https://dash.example.com"`,
		"public_url = \"https://auth.example.com\"\nallowed_redirect_hosts = [\"app1.example.com\", \"app2.example.com\"]", 1)
	doc = strings.Replace(doc, `host = "dash.example.com"`, `host = "app1.example.com"`, 1)
	doc = strings.Replace(doc, `require_scopes = ["a"]`, `require_scopes = ["openid"]`, 1) // one sign-in asks for
	doc += "\n[[routes]]\nhost = \"app2.example.com\"\npath = \"/**\"\nallow_groups = [\"staff\"]\n"
	path := writeConfig(t, "hosts.toml", doc)
	const set = `; set session.cookie_domain = "example.com"` + "\n"
	want := []string{
		path + `:3: server.allowed_redirect_hosts[0]: warning: "app1.example.com" never gets the session cookie: `,
		path + `:3: server.allowed_redirect_hosts[1]: warning: "app2.example.com" never gets the session cookie: `,
		path + `:22: routes[1].host: warning: "app1.example.com" never gets the session cookie: `,
		path + `:35: routes[3].host: warning: "app2.example.com" never gets the session cookie: `,
	}
	r := invoke(t, nil, "check", "--strict", "--config", path)
	lines := strings.SplitAfter(r.stderr, "\n")
	if r.code != 2 || len(lines) < len(want) || !strings.Contains(r.stderr, "4 warning(s) and --strict") {
		t.Fatalf("check --strict: exit %d, stderr:\n%s\nwant exit 2 and %d warnings", r.code, r.stderr, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || !strings.HasSuffix(lines[i], set) {
			t.Errorf("line %d: %q, want %q ... %q", i, lines[i], w, set)
		}
	}
	// With the cookie_domain, the name __Secure-portcullis: the default,
	// portcullis, draws the prefix warning (TestCheckWarnsUnprefixedCookieName).
	doc = strings.Replace(doc, "[session]\n", "[session]\ncookie_domain = \"example.com\"\ncookie_name = \"__Secure-portcullis\"\n", 1)
	if r := invoke(t, nil, "check", "--strict", "--config", writeConfig(t, "domain.toml", doc)); r.code != 0 || r.stderr != "" {
		t.Errorf("with cookie_domain: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// TestCheckWarnsUnprefixedCookieName: on an https public_url, the session
// cookie name in force without the __Host- or __Secure- prefix, the default
// portcullis with a cookie_domain as an own one, is a warning on the line
// that chose it: check still exits 0 (2 with --strict) and names the fix.
// A prefixed name draws none, nor does an http public_url, whose only
// warning is that it is http (TestCheckWarnsPlainHTTPPublicURL).
func TestCheckWarnsUnprefixedCookieName(t *testing.T) {
	const cookieFix = `; set session.cookie_name = "__Secure-portcullis"` + "\n"
	const httpFix = "also when TLS ends at a load balancer or front proxy\n"
	for _, tc := range []struct{ session, publicURL, want, fix string }{
		{"cookie_domain = \"example.com\"\n", "https://dash.example.com",
			`:10: session.cookie_domain: warning: the session cookie "portcullis" has no "__Host-" or "__Secure-" prefix`, cookieFix},
		{"cookie_name = \"sso\"\ncookie_domain = \"example.com\"\n", "https://dash.example.com",
			`:10: session.cookie_name: warning: the session cookie "sso" has no "__Host-" or "__Secure-" prefix`, cookieFix},
		{"cookie_name = \"__Secure-portcullis\"\ncookie_domain = \"example.com\"\n", "https://dash.example.com", "", ""},
		{"cookie_domain = \"example.com\"\n", "http://dash.example.com",
			`:2: server.public_url: warning: http:// URL "http://dash.example.com": `, httpFix},
	} {
		doc := strings.Replace(checkGood, "[session]\n", "[session]\n"+tc.session, 1)
		doc = strings.Replace(doc, "https://dash.example.com", tc.publicURL, 1)
		path := writeConfig(t, "cookie.toml", doc)
		r := invoke(t, nil, "check", "--config", path)
		strict := invoke(t, nil, "check", "--strict", "--config", path)
		switch {
		case r.code != 0:
			t.Errorf("%q on %s: check exit %d, stderr:\n%s", tc.session, tc.publicURL, r.code, r.stderr)
		case tc.want == "" && (r.stderr != "" || strict.code != 0):
			t.Errorf("%q on %s: check --strict exit %d, stderr:\n%s", tc.session, tc.publicURL, strict.code, r.stderr)
		case tc.want != "" && (!strings.HasPrefix(r.stderr, path+tc.want) || !strings.HasSuffix(r.stderr, tc.fix) ||
			strings.Count(r.stderr, "\n") != 1 || strict.code != 2):
			t.Errorf("%q: check --strict exit %d, stderr:\n%s\nwant exit 2 and one line %q ... %q", tc.session, strict.code, r.stderr, path+tc.want, tc.fix)
		}
	}
}

// TestCheckValueOfOneLine: check refuses, at its line, a client_id whose
// ${VAR} ends with a line feed (it was accepted, and every sign-in failed
// at the provider) and quotes a megabyte upstream name in a few hundred
// bytes (it printed the megabyte), exiting 2 with neither value whole.
func TestCheckValueOfOneLine(t *testing.T) {
	const id = "client-id-from-a-file"
	huge := strings.Repeat("n", 1<<20)
	doc := strings.Replace(checkGood, `client_id = "client"`, `client_id = "${ID}"`, 1)
	doc = strings.Replace(doc, `name = "app"`, `name = "app"`+"\nassertion_audience = \"https://"+huge+"\"", 1)
	path := writeConfig(t, "cfg.toml", doc)
	r := invoke(t, map[string]string{"ID": id + "\n"}, "check", "--config", path)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2\n%.2000s", r.code, r.stderr)
	}
	want := path + ":6: provider.client_id: ends with a control character (U+000A"
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, path+":14: upstreams[0].assertion_audience: ") {
		t.Errorf("stderr %.2000q, want %q and a problem at line 14", r.stderr, want)
	}
	if strings.Contains(r.stderr, id) || len(r.stderr) > 4096 {
		t.Errorf("stderr of %d bytes shows a value: %.2000q", len(r.stderr), r.stderr)
	}
}

// checkWebDAV gives GET of /reports/** to finance and /public/secret/** to
// admins ahead of catch-alls: a COPY, MOVE, DELETE or PURGE is refused by a
// route that is not its path's first match (routes[0] on line 15,
// routes[1] on line 20).
const checkWebDAV = checkHead + `
[[routes]]
path = "/reports/**"
methods = ["GET"]
allow_groups = ["finance"]

[[routes]]
path = "/public/secret/**"
allow_groups = ["admins"]

[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/**"
`

// TestCheckRequestSaysWhyARouteRefused: a request refused by a route its
// path's first match is not, because it is decided as what it does or by
// a member's route, says which: "refused by routes[0]", a route for GET,
// of a COPY left the operator to guess.
func TestCheckRequestSaysWhyARouteRefused(t *testing.T) {
	path := writeConfig(t, "webdav.toml", checkWebDAV)
	bob := []string{"--identity", "sub=bob", "--identity", "groups=staff"}
	cases := []requestCase{
		{"COPY as a GET", "COPY https://dash.example.com/reports/q1.pdf", bob, 3, []string{
			`route: routes[0] at ` + path + `:15`, "why this route: decided as a GET too, which a COPY does to its path",
			"decision: denied"}},
		{"MOVE as a GET", "MOVE https://dash.example.com/reports/", bob, 3, []string{
			"why this route: decided as a GET too, which a MOVE does"}},
		{"PURGE as what it may do", "PURGE https://dash.example.com/reports/x", bob, 3, []string{
			"why this route: decided as a GET too, which a PURGE may do (the gateway cannot tell what it does)"}},
		{"DELETE of a member", "DELETE https://dash.example.com/public/", nil, 3, []string{
			`route: routes[1] at ` + path + `:20`,
			"why this route: decided for a member beneath the path: a DELETE acts on every member of a collection",
			"decision: unauthenticated"}},
		{"COPY of a member", "COPY https://dash.example.com/public/", bob, 3, []string{
			"why this route: decided for a member beneath the path: a COPY acts on every member of a collection"}},
	}
	runRequestCases(t, path, cases)
	// The Destination's path decides a COPY too: serve refuses an
	// anonymous copy into /public/secret/, which check could not be told.
	dest := []string{"--header", "Destination: https://dash.example.com/public/secret/x"}
	runRequestCases(t, path, []requestCase{
		{"COPY to a Destination", "COPY https://dash.example.com/public/x", dest, 3, []string{
			`route: routes[1] at ` + path + `:20`,
			"why this route: at the Destination's path /public/secret/x: decided as the COPY itself",
			"decision: unauthenticated"}},
		{"COPY to a Destination with Overwrite: F", "COPY https://dash.example.com/public/x",
			append(dest, "--header", "Overwrite: F"), 3, []string{"decision: unauthenticated"}},
		{"COPY to a public Destination", "COPY https://dash.example.com/public/x",
			[]string{"--header", "Destination: /public/y"}, 0, []string{"decision: public"}},
		{"PROPFIND of Depth 0", "PROPFIND https://dash.example.com/public/",
			[]string{"--header", "Depth: 0"}, 0, []string{"decision: public"}},
		{"PROPFIND of Depth 1", "PROPFIND https://dash.example.com/public/",
			[]string{"--header", "depth: 1"}, 3, []string{"why this route: decided for a member beneath the path"}},
	})
	if r := invoke(t, nil, append([]string{"check", "--config", path, "--request", "GET https://dash.example.com/reports/"}, bob...)...); strings.Contains(r.stdout, "why") {
		t.Errorf("a GET decided by its first match says why:\n%s", r.stdout)
	}
}

// TestCheckHeaderErrorEchoesNoValue: a malformed --header was echoed
// whole in its usage error, value included: a credential given by mistake
// ("Authorization Bearer TOKEN", without the colon, or with a control
// character) went to stderr, which CI keeps in its logs. The error names
// the header, never its value. Found by review JA.
func TestCheckHeaderErrorEchoesNoValue(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	const secret = "s3cr3t-t0ken"
	for _, h := range []string{"Authorization Bearer " + secret, "Authorization: Bearer " + secret + "\x01",
		"Cookie: _portcullis=" + secret + "\r\n", "X-Api-Key " + secret} {
		r := invoke(t, nil, "check", "--config", path, "--request", "GET https://dash.example.com/", "--header", h)
		if r.code != 2 || strings.Contains(r.stderr+r.stdout, secret) {
			t.Errorf("--header %q: exit %d, stderr %q; want 2 and no value echoed", h, r.code, r.stderr)
		}
	}
}

// TestCheckRequestErrorEchoesNoSecret: a --request URL that check refuses
// was echoed whole in its usage error: a password in its user information
// ("https://ann:PASSWORD@host/", refused as user information) or a token
// in its query went to stderr, which CI keeps in its logs. The error quotes
// the URL without its user information, query and fragment. Found by
// review JQ.
func TestCheckRequestErrorEchoesNoSecret(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	const secret = "s3cr3t-pa55"
	for _, req := range []string{
		"GET https://ann:" + secret + "@dash.example.com/admin/",
		"GET https://" + secret + "@dash.example.com/admin/",
		"GET https://dash.example.com/admin/?access_token=" + secret + "#top",
		"GET ftp://ann:" + secret + "@dash.example.com/",
		"GET https://ann:" + secret + "@dash.example.com/a b",
		"GET https://ann:" + secret + "@dash.example.com:x/",
		"https://ann:" + secret + "@dash.example.com/",
		// Found by review JS: a URL that does not parse and holds no ":"
		// was shown whole, and a URL in the method's place as it was.
		"GET /admin/%zz?access_token=" + secret,
		"GET dash.example.com%zz/?access_token=" + secret,
		"https://ann:" + secret + "@dash.example.com/ a b",
		"https://ann:" + secret + "@dash.example.com/ /",
	} {
		r := invoke(t, nil, "check", "--config", path, "--request", req)
		if r.code != 2 || strings.Contains(r.stderr+r.stdout, secret) {
			t.Errorf("--request %q: exit %d, stderr %q; want 2 and no secret echoed", req, r.code, r.stderr)
		}
	}
	// A URL in the method's place before a good one: the method is named
	// refused, not echoed (review JS).
	for _, method := range []string{"https://ann:" + secret + "@dash.example.com/", "get?access_token=" + secret} {
		r := invoke(t, nil, "check", "--config", path, "--request", method+" https://dash.example.com/admin/")
		if out := r.stderr + r.stdout; strings.Contains(out, secret) || !strings.Contains(out, "refused") {
			t.Errorf("--request %q: exit %d, output %q; want it refused and no secret echoed", method, r.code, out)
		}
	}
	r := invoke(t, nil, "check", "--config", path, "--request", "GET https://ann:"+secret+"@dash.example.com/admin/?q=1")
	if want := `"https://…@dash.example.com/admin/?…"`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q; want the URL shown as %s", r.stderr, want)
	}
}
