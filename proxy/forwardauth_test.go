package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

func TestForwardAuth(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	f.prov.bearers["weak"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"read"}}
	trusted := fromPeer("10.0.0.5:4000")
	orig := func(method, host, uri string) []reqOption {
		return []reqOption{withHeader("X-Forwarded-Method", method), withHeader("X-Forwarded-Host", host), withHeader("X-Forwarded-Uri", uri)}
	}
	tests := []struct {
		name       string
		opts       []reqOption
		wantStatus int
		wantUser   string
		wantBody   string
		wantAuth   string
	}{
		{"untrusted peer", append(orig("GET", "app.test", "/app/x"), withCookies(cookies)), 403, "", `{"error":"untrusted_proxy"}`, ""},
		{"untrusted peer even when public", orig("GET", "app.test", "/public/x"), 403, "", "untrusted_proxy", ""},
		// JSON whatever the headers say, a browser's Accept included.
		{"untrusted browser", append(orig("GET", "app.test", "/app/x"), browser()), 403, "", `{"error":"untrusted_proxy"}`, ""},
		{"allowed", append(orig("GET", "app.test", "/app/x?q=1"), trusted, withCookies(cookies)), 200, "alice", "", ""},
		{"no identity", append(orig("GET", "app.test", "/app/x"), trusted, browser()), 401, "", "", "Bearer"},
		{"denied", append(orig("GET", "app.test", "/denied/x"), trusted, withCookies(cookies)), 403, "", "", ""},
		{"no route", append(orig("GET", "app.test", "/nothing"), trusted, withCookies(cookies)), 403, "", "", ""},
		{"public", append(orig("GET", "app.test", "/public/x"), trusted), 200, "", "", ""},
		{"dot-segments", append(orig("GET", "app.test", "/public/../denied/x"), trusted, withCookies(cookies)), 400, "", "", ""},
		{"bad path", append(orig("GET", "app.test", "/public/%2e%2e%2fadmin"), trusted), 400, "", "", ""},
		{"ASCII look-alike path", append(orig("GET", "app.test", "/public/%E2%80%A5%EF%BC%8Fdenied/x"), trusted), 400, "", "", ""},
		{"C1 control in the path", append(orig("GET", "app.test", "/public/a%C2%85b"), trusted), 400, "", "", ""},
		{"line separator in the path", append(orig("GET", "app.test", "/public/a%E2%80%A9b"), trusted), 400, "", "", ""},
		{"lower-case method", append(orig("get", "app.test", "/public/x"), trusted), 400, "", "", ""},
		{"insufficient scope", append(orig("GET", "app.test", "/api/x"), trusted, withHeader("Authorization", "Bearer weak")), 403, "", "",
			`Bearer error="insufficient_scope", scope="api:write"`},
		{"invalid bearer", append(orig("GET", "app.test", "/app/x"), trusted, withHeader("Authorization", "Bearer bad"), withCookies(cookies)),
			401, "", "", `Bearer error="invalid_token"`},
		{"X-Original-URL", []reqOption{trusted, withCookies(cookies), withHeader("X-Original-URL", "https://app.test/app/y?z=1")}, 200, "alice", "", ""},
		{"host rule", append(orig("GET", "Other.Test:8443", "/x"), trusted, withCookies(cookies)), 403, "", "", `Bearer error="insufficient_scope", scope="other"`},
		{"nothing named", []reqOption{trusted}, 400, "", "", ""},
		{"token in the original query", append(orig("GET", "app.test", "/app/x?%61ccess_token=t"), trusted), 400, "", "invalid_request", ""},
		{"token in X-Original-URL", []reqOption{trusted, withHeader("X-Original-URL", "https://app.test/app/y?access_token=t")}, 400, "", "invalid_request", ""},
		// ingress-nginx: X-Original-URL from a Host header with a '?' ("app.test?")
		// has no path; nginx forwards /denied/x.
		{"X-Original-URL without a path", []reqOption{trusted, withCookies(cookies),
			withHeader("X-Original-URL", "http://app.test?/denied/x")}, 400, "", "invalid_request", ""},
		{"X-Original-URL without anything after the host", []reqOption{trusted, withHeader("X-Original-URL", "http://app.test")},
			400, "", "invalid_request", ""},
		// X-Forwarded-Host ($host in the documented ingress-nginx set-up) names
		// the host nginx routed by; X-Original-URL the client's Host header.
		{"X-Original-URL on another host than X-Forwarded-Host", []reqOption{trusted, withCookies(cookies),
			withHeader("X-Original-URL", "http://other.test/app/y"), withHeader("X-Forwarded-Host", "app.test")}, 400, "", "invalid_request", ""},
		{"X-Original-URL with the port $host leaves out", []reqOption{trusted, withCookies(cookies),
			withHeader("X-Original-URL", "http://App.Test:8443/app/y"), withHeader("X-Forwarded-Host", "app.test")}, 200, "alice", "", ""},
		{"X-Forwarded-Host with another port", []reqOption{trusted, withCookies(cookies),
			withHeader("X-Original-URL", "http://app.test:8443/app/y"), withHeader("X-Forwarded-Host", "app.test:9443")}, 400, "", "invalid_request", ""},
		// The front proxy passes these spellings to the app, which reads them
		// as X-Forwarded-User (CGI, WSGI, Rack, PHP).
		{"identity header spelled with _", append(orig("GET", "app.test", "/public/x"), trusted,
			withHeader("X_Forwarded_User", "admin")), 400, "", "invalid_request", ""},
		{"identity header spelled with .", append(orig("GET", "app.test", "/public/x"), trusted,
			withHeader("X.Auth-Request.User", "admin")), 400, "", "invalid_request", ""},
		{"X-Auth-Request family spelled with _", append(orig("GET", "app.test", "/public/x"), trusted,
			withHeader("X_Auth_Request_Redirect", "//evil.test/")), 400, "", "invalid_request", ""},
		// So are the headers proxy mode removes from untrusted peers
		// (peerClaims): Traefik passes '_' and '.' spellings, Caddy '.'.
		{"other product's identity header spelled with _", append(orig("GET", "app.test", "/public/x"), trusted,
			withHeader("Remote_User", "admin")), 400, "", "invalid_request", ""},
		{"other product's prefixed identity header spelled with .", append(orig("GET", "app.test", "/public/x"), trusted,
			withHeader("X.Webauth.User", "admin")), 400, "", "invalid_request", ""},
		{"address claim spelled with _", append(orig("GET", "app.test", "/public/x"), trusted,
			withHeader("X_Real_IP", "127.0.0.1")), 400, "", "invalid_request", ""},
		{"malformed bearer never falls back to the cookie", append(orig("GET", "app.test", "/app/x"), trusted,
			withHeader("Authorization", "Bearer:abc"), withCookies(cookies)), 401, "", "", `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, "GET", "/oauth2/auth", nil, tt.opts...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("X-Auth-Request-User"); got != tt.wantUser {
				t.Errorf("X-Auth-Request-User = %q, want %q", got, tt.wantUser)
			}
			if tt.wantUser != "" {
				if resp.Header.Get("X-Auth-Request-Groups") != "admins,staff" || resp.Header.Get("X-Auth-Request-Email") != "alice@example.com" ||
					resp.Header.Get("X-Portcullis-Jwt-Assertion") == "" || resp.Header.Get("X-Auth-Request-Preferred-Username") != "alice" {
					t.Errorf("identity response headers: %v", resp.Header)
				}
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %q does not contain %q", body, tt.wantBody)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantAuth)
			}
		})
	}
	if f.up.count() != 0 {
		t.Error("forward-auth forwarded a request upstream")
	}
}

func TestForwardAuthLoginRedirectThroughStart(t *testing.T) {
	// nginx sends 401s to {prefix}/start?rd=...: that starts a login back to rd.
	f := newFixture(t)
	resp := f.do(t, "GET", "/oauth2/start?rd=https%3A%2F%2Fapp.test%2Fapp%2Fx", nil, browser())
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://idp.test/") {
		t.Fatalf("start = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestForwardAuthSignInPage: Traefik's forwardAuth and Envoy's ext_authz
// hand the gateway's 401 to the browser as it is. The HTML page then links
// to {prefix}/start for the original request (host, path and query from
// the forwarded headers, not the subrequest's) and, for a GET, goes there
// at once; a POST's page only links, and a non-browser gets the JSON 401.
func TestForwardAuthSignInPage(t *testing.T) {
	f := newFixture(t)
	trusted := fromPeer("10.0.0.5:4000")
	orig := func(method string) []reqOption {
		return []reqOption{trusted, withHeader("X-Forwarded-Method", method), withHeader("X-Forwarded-Host", "app.test"),
			withHeader("X-Forwarded-Uri", "/app/x?a=1&b=<2>")}
	}
	const start = `/oauth2/start?rd=http%3A//app.test/app/x%3Fa%3D1%26b%3D%3C2%3E`
	resp := f.do(t, "GET", "/oauth2/auth?ignored=1", nil, append(orig("GET"), browser())...)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("GET: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for _, want := range []string{`<meta http-equiv="refresh" content="0; url=` + start + `">`, `<a href="` + start + `">Sign in</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET page lacks %s:\n%s", want, body)
		}
	}
	resp = f.do(t, "GET", "/oauth2/auth", nil, append(orig("POST"), browser())...)
	body = readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "refresh") || !strings.Contains(body, ">Sign in</a>") {
		t.Errorf("POST: %d, want a 401 page that links without going:\n%s", resp.StatusCode, body)
	}
	// A form's POST: the sign-in returns to the form's page, as in proxy mode.
	resp = f.do(t, "GET", "/oauth2/auth", nil, append(orig("POST"), browser(), withHeader("Referer", "http://app.test/app/form?id=7"))...)
	body = readBody(t, resp)
	if want := `<a href="/oauth2/start?rd=http%3A//app.test/app/form%3Fid%3D7">`; !strings.Contains(body, want) {
		t.Errorf("POST with a Referer: the page lacks %s:\n%s", want, body)
	}
	resp = f.do(t, "GET", "/oauth2/auth", nil, orig("GET")...)
	body = readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "start") {
		t.Errorf("non-browser: %d %s", resp.StatusCode, body)
	}
	// A navigation's 401 names the original path and query escaped for
	// rd, which nginx's and Caddy's snippets append to the scheme and host
	// (they cannot escape them: an rd they wrote unescaped lost the query
	// after its first '&' and turned '+' and escapes into other
	// characters), and its presence is what makes them redirect. Any other
	// 401 has none, and the snippets hand it to the client as proxy mode
	// answers: a page's fetch of HTML, a form's POST, a non-browser, an
	// invalid bearer token. Sent to start, a fetch failed cross-origin at
	// the provider with no status, and a POST lost what it submitted.
	const rd = "/app/x%3Fa%3D1%26b%3D%3C2%3E"
	for i, c := range []struct {
		opts []reqOption
		want string
	}{
		{append(orig("GET"), browser()), rd},
		{append(orig("HEAD"), browser(), withHeader("Sec-Fetch-Mode", "navigate")), rd},
		{append(orig("GET"), browser(), withHeader("Sec-Fetch-Mode", "cors")), ""},
		{append(orig("GET"), browser(), withHeader("Sec-Fetch-Mode", "no-cors")), ""},
		{append(orig("POST"), browser()), ""},
		{orig("GET"), ""},
		{append(orig("GET"), browser(), withHeader("Authorization", "Bearer not-a-token")), ""},
		// No method named: the headers alone tell.
		{[]reqOption{trusted, browser(), withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/app/x?a=1&b=<2>")}, rd},
		{[]reqOption{trusted, browser(), withHeader("Sec-Fetch-Mode", "cors"), withHeader("X-Forwarded-Host", "app.test"),
			withHeader("X-Forwarded-Uri", "/app/x?a=1&b=<2>")}, ""},
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, c.opts...)
		body := readBody(t, resp)
		if got := resp.Header.Get("X-Auth-Request-Return-Uri"); resp.StatusCode != http.StatusUnauthorized || got != c.want {
			t.Errorf("case %d: %d with X-Auth-Request-Return-Uri %q, want %q", i, resp.StatusCode, got, c.want)
		}
		if c.want == "" && strings.Contains(body, "refresh") {
			t.Errorf("case %d: a 401 that is no navigation goes to sign in:\n%s", i, body)
		}
	}
	// One longer than a return URL may be is "/", as start makes it.
	resp = f.do(t, "GET", "/oauth2/auth", nil, trusted, browser(), withHeader("X-Forwarded-Host", "app.test"),
		withHeader("X-Forwarded-Uri", "/app/x?q="+strings.Repeat("%25", maxRedirectLen/3)))
	if got := resp.Header.Get("X-Auth-Request-Return-Uri"); got != "/" {
		t.Errorf("a long URL's X-Auth-Request-Return-Uri has %d bytes, want /", len(got))
	}
	// The link is the one nginx's and Caddy's snippets redirect to.
	resp = f.do(t, "GET", start, nil, browser())
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://idp.test/") {
		t.Errorf("start from the page's link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSnippetsPassMethodOverride: the Envoy snippet passes the gateway
// only the client headers it lists (allowed_headers), and a Traefik snippet
// with authRequestHeaders would too (the documented one has none, and
// passes every header). Rebuilding the subrequest each sends for a POST that
// carries X-HTTP-Method-Override: DELETE, the gateway must see the header
// and refuse, or the app would perform a DELETE that only POST allowed.
// (Traefik, nginx and Caddy also run in e2e; Envoy does not install here.)
func TestSnippetsPassMethodOverride(t *testing.T) {
	routes := []policy.RouteConfig{
		{Path: "/items/**", Methods: []string{"GET", "POST"}},
		{Path: "/items/**", Methods: []string{"DELETE"}, AllowGroups: []string{"ops"}}, // alice is not in ops
	}
	f := newFixture(t, withRoutes(t, routes))
	cookies := f.cookies(t, f.session())
	lists := map[string]*regexp.Regexp{
		"traefik.yaml": regexp.MustCompile(`(?s)authRequestHeaders: \[([^\]]*)\]`),
		"envoy.yaml":   regexp.MustCompile(`(?s)allowed_headers:\s*patterns: \[(.*?)\]\n`),
	}
	name := regexp.MustCompile(`"([A-Za-z-]+)"|exact: ([a-z-]+)`)
	for file, list := range lists {
		b, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", file))
		if err != nil {
			t.Fatal(err)
		}
		m := list.FindSubmatch(b)
		// A Traefik forwardAuth without authRequestHeaders sends them all.
		all := file == "traefik.yaml" && !regexp.MustCompile(`(?m)^\s*authRequestHeaders:`).Match(b)
		if m == nil && !all {
			t.Fatalf("%s: no list of the client headers the gateway gets", file)
		}
		passed := map[string]bool{}
		if m != nil {
			for _, n := range name.FindAllSubmatch(m[1], -1) {
				passed[http.CanonicalHeaderKey(string(n[1])+string(n[2]))] = true
			}
		}
		for _, override := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
			opts := []reqOption{fromPeer("10.0.0.5:4000"), withCookies(cookies), withHeader("X-Forwarded-Method", "POST"),
				withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/items/1")}
			if all || passed[http.CanonicalHeaderKey(override)] {
				opts = append(opts, withHeader(override, "DELETE"))
			}
			if resp := f.do(t, "GET", "/oauth2/auth", nil, opts...); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: POST /items/1 with %s: DELETE: the gateway answers %d, want 400", file, override, resp.StatusCode)
			}
		}
	}
}

// TestEnvoySnippetShowsDottedNames: Envoy sends the gateway only the client
// headers its allowed_headers list names, and passes the others on to the
// app; X.Forwarded.User (PHP reads it as X-Forwarded-User) must be among
// those the gateway sees, so that it refuses the request. Underscores are
// dropped by Envoy itself (headers_with_underscores_action).
func TestEnvoySnippetShowsDottedNames(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)allowed_headers:\s*patterns: \[(.*?)\]\n`).FindSubmatch(b)
	if m == nil {
		t.Fatal("envoy.yaml: no allowed_headers list")
	}
	if !strings.Contains(string(b), "headers_with_underscores_action: DROP_HEADER") {
		t.Error("envoy.yaml: underscored header names are not dropped")
	}
	passes := func(name string) bool {
		for _, p := range regexp.MustCompile(`(exact|prefix|contains): "?([^ "}]+)"?`).FindAllSubmatch(m[1], -1) {
			kind, v := string(p[1]), string(p[2])
			if kind == "exact" && name == v || kind == "prefix" && strings.HasPrefix(name, v) ||
				kind == "contains" && strings.Contains(name, v) {
				return true
			}
		}
		return false
	}
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	for _, name := range []string{"x.forwarded.user", "x-forwarded.groups", "x.portcullis.jwt.assertion"} {
		if !passes(name) {
			t.Errorf("envoy.yaml: %s is passed on to the app and never shown to the gateway", name)
		}
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withCookies(cookies),
			withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test"),
			withHeader("X-Forwarded-Uri", "/app/x"), withHeader(name, "admin"))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("forward-auth with %s: %d, want 400", name, resp.StatusCode)
		}
	}
}

// TestForwardAuthLogOmitsQuery: the log never holds a query string
// (docs/security.md "Secrets, logs and pages"). A forward-auth request whose
// X-Original-URL or X-Forwarded-Uri does not parse is refused with 400, and
// the url.Parse error logged as its cause quotes the whole URL, query and all.
func TestForwardAuthLogOmitsQuery(t *testing.T) {
	const secret = "SECRETCODE4242"
	cases := []struct {
		name string
		opts []reqOption
	}{
		{"X-Original-URL bad port", []reqOption{withHeader("X-Original-URL", "https://app.test:x/app/cb?code="+secret)}},
		{"X-Original-URL bad escape", []reqOption{withHeader("X-Original-URL", "https://app.test/app/%zz?code="+secret)}},
		{"X-Forwarded-Uri bad escape", []reqOption{withHeader("X-Forwarded-Host", "app.test"),
			withHeader("X-Forwarded-Uri", "/app/%zz?code="+secret)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs syncBuffer
			f := newFixture(t, withDebugLog(&logs))
			resp := f.do(t, "GET", "/oauth2/auth", nil, append(c.opts, fromPeer("10.0.0.5:4000"))...)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log holds the original request's query string:\n%s", logs.String())
			}
		})
	}
}

// TestForwardAuthOnlyAtItsExactPath: the forward-auth endpoint answers
// only at its exact path, the one every front proxy is configured with. A
// proxy keeps clients from it by that path alone (Traefik's
// !Path(`/oauth2/auth`), before Traefik 2.11.24 and 3.3.6 on the raw path),
// so another spelling the gateway normalises to it ("/oauth2//auth",
// "/oauth2/./auth") reached it from a client, with the client's
// X-Original-URL, and answered with the identity and a signed assertion.
func TestForwardAuthOnlyAtItsExactPath(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	for _, p := range []string{"/oauth2//auth", "/oauth2/./auth", "//oauth2/auth", "/oauth2/%61uth", "/oauth2/x/../auth"} {
		resp := f.do(t, "GET", p, nil, fromPeer("10.0.0.5:4000"), withCookies(cookies),
			withHeader("X-Original-URL", "http://app.test/app/x"), withHeader("X-Original-Method", "GET"))
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Auth-Request-User") != "" {
			t.Errorf("%s: %d, user %q; want 404", p, resp.StatusCode, resp.Header.Get("X-Auth-Request-User"))
		}
	}
	resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withCookies(cookies),
		withHeader("X-Original-URL", "http://app.test/app/x"), withHeader("X-Original-Method", "GET"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Auth-Request-User") != "alice" {
		t.Errorf("/oauth2/auth: %d, user %q", resp.StatusCode, resp.Header.Get("X-Auth-Request-User"))
	}
}

// TestForwardAuthRefusesOAuth2ProxyConditions: oauth2-proxy reads
// allowed_groups, allowed_emails and allowed_email_domains on its auth URL
// (an ingress's auth-url "/oauth2/auth?allowed_groups=admins"). The gateway
// decides by its routes only, so a subrequest carrying one is refused rather
// than answered without the condition the operator wrote.
func TestForwardAuthRefusesOAuth2ProxyConditions(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	ask := func(target string) *http.Response {
		return f.do(t, "GET", target, nil, fromPeer("10.0.0.5:4000"), withCookies(cookies),
			withHeader("X-Original-URL", "http://app.test/app/x"), withHeader("X-Original-Method", "GET"))
	}
	for _, q := range []string{"allowed_groups=nobody", "allowed_emails=bob@example.com", "x=1&allowed_email_domains=other.test",
		// Spelled as url.ParseQuery reads them too (oauth2-proxy's reader),
		// and with ';', which it skips but another reader splits on.
		"%61llowed_groups=nobody", "allowed%5Fgroups=nobody", "%41=1&allowed_e%6Dails=b",
		"x=1;allowed_groups=nobody", "allowed_groups"} {
		resp := ask("/oauth2/auth?" + q)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Auth-Request-User") != "" ||
			!strings.Contains(body, "invalid_request") {
			t.Errorf("?%s: %d, user %q, body %s; want 400 invalid_request", q, resp.StatusCode, resp.Header.Get("X-Auth-Request-User"), body)
		}
	}
	// Another query (Caddy's forward_auth keeps the original one) is not a condition.
	for _, q := range []string{"allowed=1&q=allowed_groups", "allowed_groups%=1", "allowed_groupsx=1", "%2561llowed_groups=1", "Allowed_Groups=1"} {
		if resp := ask("/oauth2/auth?" + q); resp.StatusCode != http.StatusOK {
			t.Errorf("?%s: %d, want 200", q, resp.StatusCode)
		}
	}
	// Caddy's subrequests carry the client's query: reading it costs nothing.
	if n := testing.AllocsPerRun(100, func() { oauth2ProxyCondition("q=a%20b&allowed=1;page=2&allowed_groupsx") }); n != 0 {
		t.Errorf("reading a query for conditions allocates %v times", n)
	}
}

// TestForwardAuthAnswerAllocations: an allowed subrequest, which every
// request behind the front proxy makes, allocates only the exchange and
// the parsed original URL, access line included; its identity headers and
// assertion come from the identity-values cache. The blanks and
// Cache-Control were a slice each, the ".." check a split of the path.
func TestForwardAuthAnswerAllocations(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil)) })
	r := httptest.NewRequest("GET", "http://127.0.0.1:4180/oauth2/auth", nil)
	r.RemoteAddr = "10.0.0.5:4000"
	for k, v := range map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.test", "X-Forwarded-Uri": "/app/x/y?q=1", "X-Forwarded-For": "192.0.2.7"} {
		r.Header.Set(k, v)
	}
	for _, c := range f.cookies(t, f.session()) {
		r.AddCookie(c)
	}
	w := &discardWriter{h: http.Header{}}
	serve := func() {
		clear(w.h)
		w.status = 0
		f.h.ServeHTTP(w, r)
	}
	serve()
	if w.status != http.StatusOK || w.h.Get("X-Auth-Request-User") != "alice" ||
		w.h.Get("X-Portcullis-Jwt-Assertion") == "" || w.h.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, header %v", w.status, w.h)
	}
	if n := testing.AllocsPerRun(100, serve); n > 2 && !raceEnabled {
		t.Errorf("an allowed subrequest allocates %v times, want at most 2", n)
	}
	// A public route's answer blanks every identity header.
	r.Header.Set("X-Forwarded-Uri", "/public/x")
	serve()
	for _, k := range []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Portcullis-Jwt-Assertion"} {
		if v, ok := w.h[k]; w.status != http.StatusOK || !ok || len(v) != 1 || v[0] != "" {
			t.Errorf("public: status %d, %s %q", w.status, k, v)
		}
	}
}

// TestForwardAuthSubrequestContradictions: the subrequest's own method and
// Host are sources too. A subrequest sent with another method than GET
// carries the original's (Envoy), and one whose Host names a host the
// gateway serves apps on carries the original's (Caddy, Envoy, an nginx
// auth location with "Host $host"): a forwarded method or host naming
// another is the client's own, passed through, and is refused (400). A GET
// subrequest (nginx, Caddy, Traefik) and one sent to the gateway's own
// address (nginx, Traefik, ingress-nginx) contradict nothing. public_url's
// host counts as an app host only without allowed_redirect_hosts: with them
// it is a sign-in host of its own, through which front proxies may reach
// the gateway.
func TestForwardAuthSubrequestContradictions(t *testing.T) {
	multi := newFixture(t)
	single := newFixture(t, func(c *Config) { c.AllowedRedirectHosts = nil })
	for _, tt := range []struct {
		name, method, host string
		hdr                map[string]string
		want               int
	}{
		{"POST subrequest, GET named", "POST", "", map[string]string{"X-Forwarded-Method": "GET"}, 400},
		{"HEAD subrequest, GET named", "HEAD", "", map[string]string{"X-Forwarded-Method": "GET"}, 400},
		{"OPTIONS subrequest, GET named", "OPTIONS", "", map[string]string{"X-Original-Method": "GET"}, 400},
		{"POST subrequest, POST named", "POST", "", map[string]string{"X-Forwarded-Method": "POST"}, 200},
		{"HEAD subrequest, HEAD named", "HEAD", "", map[string]string{"X-Forwarded-Method": "HEAD"}, 200},
		{"GET subrequest, POST named", "GET", "", map[string]string{"X-Forwarded-Method": "POST"}, 200},
		{"public_url's host, another named", "GET", "gw.test", nil, 400},
		{"public_url's host and port, another named", "GET", "gw.test:80", nil, 400},
		{"a sign-in host of its own, another named", "GET", "gw.test", nil, 200},
		{"a route's host, another named", "GET", "OTHER.test:8443", nil, 400},
		{"a route's host, another URL", "GET", "other.test", map[string]string{"X-Forwarded-Uri": "",
			"X-Forwarded-Host": "", "X-Original-URL": "http://app.test/public/x"}, 400},
		{"the original's host", "GET", "APP.test:8443", nil, 200},
		{"the gateway's address", "GET", "127.0.0.1:4180", nil, 200},
		{"public_url's name at another port", "GET", "gw.test:4180", nil, 200},
	} {
		opts := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Host", "app.test"),
			withHeader("X-Forwarded-Uri", "/public/x")}
		for k, v := range tt.hdr {
			opts = append(opts, func(r *http.Request) {
				if r.Header.Del(k); v != "" {
					r.Header.Set(k, v)
				}
			})
		}
		if tt.host != "" {
			opts = append(opts, func(r *http.Request) { r.Host = tt.host })
		}
		f := single
		if strings.HasPrefix(tt.name, "a sign-in host") {
			f = multi
		}
		if resp := f.do(t, tt.method, "/oauth2/auth", nil, opts...); resp.StatusCode != tt.want {
			t.Errorf("%s: status = %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
}

// TestForwardAuthSubrequestReturnHost: a host allowed_redirect_hosts
// lists is an application host for the subrequest Host check, at the
// entry's port, as a route's is: served by routes without a host, its
// subrequest through an nginx auth location with "Host $host"
// (oauth2-proxy's) was believed when X-Forwarded-Host named another host.
func TestForwardAuthSubrequestReturnHost(t *testing.T) {
	f := newFixture(t) // allowed_redirect_hosts: app.test, *.example.com
	for host, want := range map[string]int{
		"a.example.com":       400, // a wildcard entry's host
		"A.B.Example.com.:80": 400, // at the entry's (default) port
		"a.example.com:443":   400, // the other default port: return URLs https://a.example.com/ go there
		"a.example.com:8443":  200, // another port: not the entry
		"example.com":         200, // the wildcard does not cover its parent
		"127.0.0.1:4180":      200, // the gateway's own address
		"gw.test":             200, // a sign-in host of its own
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x"),
			func(r *http.Request) { r.Host = host })
		if resp.StatusCode != want {
			t.Errorf("subrequest Host %s naming app.test: status = %d, want %d", host, resp.StatusCode, want)
		}
	}
	// Behind an https public_url, an entry's host at port 80 is still the
	// app's ("Host $http_host" in nginx passes the client's "app.test:80").
	tls := newFixture(t, func(c *Config) { c.PublicURL = mustURL(t, "https://gw.test") })
	resp := tls.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
		withHeader("X-Forwarded-Host", "gw.test"), withHeader("X-Forwarded-Uri", "/public/x"),
		func(r *http.Request) { r.Host = "app.test:80" })
	if resp.StatusCode != 400 {
		t.Errorf("https public_url, subrequest Host app.test:80 naming gw.test: status = %d, want 400", resp.StatusCode)
	}
	// A sign-in host of its own that a wildcard entry covers stays one.
	signIn := newFixture(t, func(c *Config) { c.PublicURL = mustURL(t, "http://auth.example.com") })
	resp = signIn.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
		withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x"),
		func(r *http.Request) { r.Host = "auth.example.com" })
	if resp.StatusCode != 200 {
		t.Errorf("subrequest through the sign-in host auth.example.com: status = %d, want 200", resp.StatusCode)
	}
	// An app at the sign-in host's name on another port is an app host:
	// the sign-in host is the name at public_url's port only.
	local := newFixture(t, func(c *Config) {
		c.PublicURL = mustURL(t, "http://localhost:4180")
		c.AllowedRedirectHosts = []string{"localhost:3000"}
	})
	for host, want := range map[string]int{"localhost:3000": 400, "localhost:4180": 200, "localhost": 200 /* no port: public_url's */} {
		resp := local.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x"),
			func(r *http.Request) { r.Host = host })
		if resp.StatusCode != want {
			t.Errorf("public_url localhost:4180, subrequest Host %s naming app.test: status = %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestPublicURLHostARequestCanName: a public_url whose host no request can
// name (a port written "080", a name that is not ASCII) is refused by New.
// Accepted, public_url's host was never recognised in a request, and the
// subrequest Host check let a client's X-Forwarded-Host decide a request
// sent to the application on public_url's host (gw.test, which the routes
// without a host serve). A Host that does not parse is no reason to pass
// the check either (the entry checks refuse it first).
func TestPublicURLHostARequestCanName(t *testing.T) {
	f := newFixture(t)
	for _, pub := range []string{"http://gw.test:080", "http://gw.tést"} {
		cfg := f.cfg
		cfg.PublicURL, cfg.AllowedRedirectHosts = mustURL(t, pub), nil
		h, err := New(cfg)
		if err == nil {
			r := httptest.NewRequest("GET", "http://gw.test/oauth2/auth", nil)
			r.RemoteAddr = "10.0.0.5:4000"
			r.Header.Set("X-Forwarded-Host", "app.test")
			r.Header.Set("X-Forwarded-Uri", "/public/x")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			t.Errorf("public_url %s accepted; a subrequest with Host gw.test naming app.test got %d (400 with a public_url of gw.test)", pub, w.Code)
		}
	}
	r := httptest.NewRequest("GET", "http://gw.test/oauth2/auth", nil)
	r.Host = "gw.test:80:1"
	err := f.h.checkSubrequestHost(r, Host{Name: "app.test"})
	if e := classify(err); err == nil || e.status != http.StatusBadRequest {
		t.Errorf("subrequest Host that does not parse: %v, want a 400", err)
	}
}

// TestForwardAuthSubrequestHostWildcardRoute: a host a wildcard route
// covers is an application host for the subrequest Host check, but a
// sign-in host of its own (public_url with allowed_redirect_hosts) stays
// one unless a route names it by name, as docs/forward-auth.md says: an
// ingress-nginx auth-url through auth.example.com beside a *.example.com
// route got 400 for every request.
func TestForwardAuthSubrequestHostWildcardRoute(t *testing.T) {
	routes := append([]policy.RouteConfig{{Host: "*.wild.test", Path: "/**", Public: true},
		{Host: "named.wild.test", Path: "/**", Public: true}}, testRoutes...)
	table, err := policy.Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) {
		c.Routes = table
		c.PublicURL = mustURL(t, "http://auth.wild.test")
	})
	for host, want := range map[string]int{
		"app.wild.test":  400, // a wildcard route's host
		"auth.wild.test": 200, // the sign-in host, only covered by the wildcard route
		"wild.test":      200, // the wildcard does not cover its parent
		"127.0.0.1:4180": 200, // the gateway's own address
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x"),
			func(r *http.Request) { r.Host = host })
		if resp.StatusCode != want {
			t.Errorf("subrequest Host %s: status = %d, want %d", host, resp.StatusCode, want)
		}
	}
	// A sign-in host that a route names by name serves an app too.
	named := newFixture(t, func(c *Config) {
		c.Routes = table
		c.PublicURL = mustURL(t, "http://named.wild.test")
	})
	resp := named.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
		withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x"),
		func(r *http.Request) { r.Host = "named.wild.test" })
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("subrequest Host named.wild.test, a route's by name: status = %d, want 400", resp.StatusCode)
	}
}
