package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// rawDo sends raw bytes to addr and returns the answer's status and body,
// or 0 and the error for an answer that is no HTTP response.
func rawDo(t *testing.T, addr, raw string) (int, string) {
	t.Helper()
	resp, body, err := rawExchange(t, addr, raw)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, body
}

// reachesAdmin: a path an application could read as under /admin (decoded
// once or twice, backslashes as slashes, fullwidth letters folded), or as
// /admin with a format suffix (adminFormat). Paths are case-sensitive and
// the trailing dots and spaces of a segment before the last are the
// application's (docs/requests.md, path handling): "/ADMIN" and "/admin./x"
// reach it by design.
func reachesAdmin(path string) bool {
	p := path
	for range 2 {
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
	}
	p = strings.ReplaceAll(strings.ReplaceAll(p, "\\", "/"), "ａ", "a")
	return strings.Contains(p, "/admin/") || strings.HasSuffix(p, "/admin") || strings.Contains(p, "/admin;") ||
		adminFormat.MatchString(p)
}

// adminFormat is /admin with a format suffix as Rails routes it ("(.:format)",
// a format of any characters but ".", "/" and "?": admin#index as "x-y"), or
// with the trailing dots Spring's "/admin.*" and IIS read as /admin.
var adminFormat = regexp.MustCompile(`/admin(\.[^./?]+|\.+)/*$`)

// adminTricks are request targets that ask for /admin/** in another
// spelling, for the gateway listening at host.
func adminTricks(host string) []string {
	return []string{
		"/admin/x", "/admin", "/ADMIN/x", "/Admin/x", "/admin./x", "/admin%2fx", "/%61dmin/x", "/%61%64%6d%69%6e/x",
		"/public/../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E%2Fadmin/x", "/public/..%2fadmin/x",
		"/public/..;/admin/x", "/public/.%2e/admin/x", "/public/%252e%252e/admin/x", "/public/..\\admin/x",
		"/public/%2e%2e%5cadmin/x", "/admin;x/y", "/admin;/x", "/admin;jsessionid=1", "//admin/x", "///admin/x",
		"/./admin/x", "/admin/./x", "/admin%00/x", "/admin%20/x", "/admin%09/x", "/admin%0a/x", "/ａdmin/x",
		"/%EF%BD%81dmin/x", "/public/%c0%ae%c0%ae/admin/x", "/admin/x?_method=DELETE", "/admin.json", "/admin/",
		"/public/x/../../admin/x", "/public;/../admin/x", "/public/..%00/admin/x", "/admin%23/x", "/admin%3f/x",
		"/admin.x-y", "/admin.x_y/", "/admin.~", "/admin.%20", "/admin.", "/admin../",
		"http://" + host + "/admin/x", "http://evil.test/admin/x", "HTTP://" + host + "/admin/x", "admin/x", "*",
	}
}

// bobThroughProxy starts the gateway in proxy mode, every path routed, and
// signs bob (staff, not an admin) in: the upstream, the gateway, bob's
// browser and his Cookie header.
func bobThroughProxy(t *testing.T) (*upstream, *gateway, *http.Client, string) {
	t.Helper()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	bob, cookie := signInBob(t, p, gw.URL)
	return up, gw, bob, cookie
}

// TestRedTeamProxyPaths: a signed-in user outside the group admins, in
// proxy mode, sends every path trick against /admin/** as raw bytes: the
// upstream never receives a request an application could route to /admin,
// and the gateway answers each with a status, never a crash.
func TestRedTeamProxyPaths(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up, gw, bob, cookie := bobThroughProxy(t)
	host := strings.TrimPrefix(gw.URL, "http://")
	targets := adminTricks(host)
	probes := 0
	for _, m := range []string{"GET", "POST", "OPTIONS", "HEAD"} {
		for _, target := range targets {
			probes++
			before := up.count()
			status, body := rawDo(t, host, m+" "+target+" HTTP/1.1\r\nHost: "+host+"\r\nCookie: "+cookie+
				"\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			if status == 0 || status >= 500 {
				t.Errorf("%s %q: %d %.200s", m, target, status, body)
			}
			if up.count() > before && reachesAdmin(up.last().Path) {
				t.Errorf("%s %q: %d, and the upstream received %q", m, target, status, up.last().Path)
			}
		}
	}
	for _, raw := range []string{"OPTIONS * HTTP/1.1", "CONNECT evil.test:443 HTTP/1.1", "CONNECT " + host + " HTTP/1.1",
		"TRACE /admin/x HTTP/1.1", "GET /admin/x HTTP/1.0", "GET /admin/x HTTP/0.9", "GET /admin/x HTTP/2.0", "PRI * HTTP/2.0"} {
		probes++
		before := up.count()
		status, body := rawDo(t, host, raw+"\r\nHost: "+host+"\r\nCookie: "+cookie+"\r\nConnection: close\r\n\r\n")
		if status >= 500 && status != 505 || up.count() > before && reachesAdmin(up.last().Path) {
			t.Errorf("%q: %d %.200s", raw, status, body)
		}
	}
	t.Logf("%d path probes", probes)
	if status, _, _ := get(t, bob, gw.URL+"/hello"); status != 200 {
		t.Fatalf("gateway no longer serves bob: %d", status)
	}
}

// TestRedTeamProxySpoof: identity, address, scheme, path and method claims
// (other authentication products' identity headers too) a client sends in
// every spelling, repeated, and identity headers named in
// Connection: the upstream sees none of the client's values, and a signed-in
// user's identity headers arrive whole.
func TestRedTeamProxySpoof(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up, gw, bob, _ := bobThroughProxy(t)
	names := []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups", "X-Forwarded-Preferred-Username",
		"X-Portcullis-Jwt-Assertion", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups",
		"X-Forwarded-Access-Token", "Authorization", "X-Original-URL", "X-Rewrite-URL", "X-Original-URI",
		"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override", "X-Real-IP", "Forwarded", "Remote-User",
		"X-Forwarded-Prefix", "X-Forwarded-Uri", "X-Original-Method", "X-Forwarded-Method", "X-Webauth-User",
		// Other authentication products' identity headers: authentik, Keycloak
		// Gatekeeper (Louketo), Tailscale Serve, SonarQube, Kubernetes'
		// authenticating proxy, Apache's mod_auth_openidc.
		"X-Authentik-Username", "X-Authentik-Groups", "X-Auth-Username", "X-Auth-Groups", "Tailscale-User-Login",
		"X-Forwarded-Login", "X-Remote-User", "X-Remote-Group",
		// Apache mod_auth_openidc's (OIDC_CLAIM_email, OIDC_access_token).
		"Oidc-Claim-Email", "Oidc-Claim-Groups", "Oidc-Access-Token",
		// The rest of the X-Auth-Request- family (docs/headers.md): the
		// forward-auth 401's return URI, oauth2-proxy's token and redirect.
		"X-Auth-Request-Return-Uri", "X-Auth-Request-Access-Token", "X-Auth-Request-Redirect"}
	var spellings []string
	for _, n := range names {
		spellings = append(spellings, n, strings.ToLower(n), strings.ToUpper(n), strings.ReplaceAll(n, "-", "_"),
			strings.ReplaceAll(strings.ToLower(n), "-", "_"), strings.ReplaceAll(n, "-", "."))
	}
	host := strings.TrimPrefix(gw.URL, "http://")
	probes := 0
	for _, who := range []*http.Client{browser(t), bob} {
		for _, path := range []string{"/public/x", "/hello"} {
			var hdr strings.Builder
			for _, s := range spellings {
				if s == "Authorization" || s == "authorization" || s == "AUTHORIZATION" {
					continue
				}
				hdr.WriteString(s + ": mallory-spoof\r\n" + s + ": mallory-spoof\r\n")
			}
			cookie := cookieHeader(who.Jar.Cookies(mustURL(t, gw.URL)))
			for _, conn := range []string{"close", "close, X-Forwarded-User, X-Forwarded-Groups, X-Portcullis-Jwt-Assertion, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host"} {
				probes++
				before := up.count()
				status, body := rawDo(t, host, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nCookie: "+cookie+
					"\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\n"+
					hdr.String()+"Accept: application/json\r\nConnection: "+conn+"\r\n\r\n")
				if up.count() == before {
					if cookie != "" || path == "/public/x" {
						t.Errorf("GET %s (cookie %v, Connection %s): %d without reaching the app %.200s", path, cookie != "", conn, status, body)
					}
					continue
				}
				got := up.last().Headers
				for k, vs := range got {
					for _, v := range vs {
						if strings.Contains(v, "mallory") || strings.Contains(v, "6.6.6.6") || strings.Contains(v, "evil.test") {
							t.Errorf("GET %s (Connection %s): the upstream received %s: %s", path, conn, k, v)
						}
					}
				}
				if got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-For") != "127.0.0.1" {
					t.Errorf("GET %s (Connection %s): X-Forwarded-Proto %q, X-Forwarded-For %q", path, conn,
						got.Get("X-Forwarded-Proto"), got.Get("X-Forwarded-For"))
				}
				if cookie != "" && path == "/hello" && (got.Get("X-Forwarded-User") != "bob" || got.Get("X-Forwarded-Groups") != "staff" ||
					got.Get("X-Portcullis-Jwt-Assertion") == "") {
					t.Errorf("GET %s (Connection %s): identity headers %v", path, conn, got)
				}
			}
		}
	}
	t.Logf("%d spoof probes (%d header spellings each)", probes, 2*len(spellings))
}
