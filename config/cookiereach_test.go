package config

import (
	"fmt"
	"strings"
	"testing"
)

// reachDoc is a configuration with public_url on auth.example.com, where
// server, session and routes add their lines.
func reachDoc(server, session, routes string) string {
	return `[server]
public_url = "https://auth.example.com"
` + server + `

[provider]
issuer = "https://idp.example.com"
client_id = "client"

[[provider.extra_issuers]]
issuer = "https://ci.example.net"
audiences = ["portcullis"]

[session]
secrets = ["` + goodSecret + `"]
` + session + `

[[upstreams]]
name = "app"
url = "http://127.0.0.1:3000"
` + routes
}

// reachRoute is a route on host that only members of staff reach, plus
// extra lines.
func reachRoute(host, extra string) string {
	return fmt.Sprintf("\n[[routes]]\nhost = %q\npath = \"/**\"\nallow_groups = [\"staff\"]\n%s\n", host, extra)
}

// TestCookieScopeWarnings: a host the gateway serves (a route's host, a
// return host in allowed_redirect_hosts) that the session cookie never
// reaches signs its users in again and again (forward-auth: 401 forever).
// check warns at the host's line and names the cookie_domain to set; routes
// that need no session (public, deny, bearer tokens only: another issuer,
// another audience, a scope sign-in does not ask for) are left alone.
func TestCookieScopeWarnings(t *testing.T) {
	const set = `session.cookie_domain = "example.com"`
	tests := []struct {
		name                    string
		server, session, routes string
		want                    []string // "line-needle|key|message part", in line order
	}{
		{"two app hosts, no cookie_domain", `allowed_redirect_hosts = ["app1.example.com", "app2.example.com:8443"]`, "",
			reachRoute("app1.example.com", "") + reachRoute("APP2.example.com.", ""),
			[]string{
				`allowed_redirect_hosts|server.allowed_redirect_hosts[0]|"app1.example.com" never gets the session cookie`,
				`allowed_redirect_hosts|server.allowed_redirect_hosts[1]|set ` + set,
				`host = "app1.example.com"|routes[0].host|host-only cookie of public_url's host "auth.example.com"`,
				`host = "APP2.example.com."|routes[1].host|set ` + set,
			}},
		{"public_url's own host and host-less routes", `allowed_redirect_hosts = ["auth.example.com:8443"]`, "",
			reachRoute("Auth.Example.com", "") + "\n[[routes]]\npath = \"/x/**\"\nallow_groups = [\"staff\"]\n", nil},
		{"cookie_domain covers them", `allowed_redirect_hosts = ["*.example.com", "example.com"]`, `cookie_domain = ".Example.com"`,
			reachRoute("a.b.example.com", "") + reachRoute("*.apps.example.com", "") + reachRoute("example.com", ""), nil},
		{"wider wildcard and another domain", `allowed_redirect_hosts = ["*.example.com"]`, `cookie_domain = "auth.example.com"`,
			reachRoute("x.auth.example.com", "") + reachRoute("*.example.com", "") + reachRoute("app.example.org", ""),
			[]string{
				`allowed_redirect_hosts|server.allowed_redirect_hosts[0]|"*.example.com" never gets the session cookie: session.cookie_domain "auth.example.com" does not cover it`,
				`host = "*.example.com"|routes[1].host|set ` + set,
				`host = "app.example.org"|routes[2].host|no cookie reaches both it and "auth.example.com"`,
			}},
		{"return hosts a host-less route serves", `allowed_redirect_hosts = ["app1.example.com", "10.0.0.7:8080"]`, "",
			"\n[[routes]]\npath = \"/**\"\nallow_groups = [\"staff\"]\n",
			[]string{
				`allowed_redirect_hosts|server.allowed_redirect_hosts[0]|set ` + set,
				`allowed_redirect_hosts|server.allowed_redirect_hosts[1]|"10.0.0.7:8080" never gets the session cookie`,
			}},
		{"a wildcard return host whose served hosts all get the cookie", `allowed_redirect_hosts = ["*.example.com", "*.example.org:8443"]`, "",
			reachRoute("auth.example.com", ""), nil},
		{"a wildcard return host wider than cookie_domain, its served hosts inside", `allowed_redirect_hosts = ["*.example.com"]`, `cookie_domain = "auth.example.com"`,
			reachRoute("x.auth.example.com", "") + reachRoute("*.auth.example.com", ""), nil},
		{"a wildcard return host over a narrower route outside the cookie", `allowed_redirect_hosts = ["*.example.com"]`, "",
			reachRoute("auth.example.com", "") + reachRoute("x.apps.example.com", "") + reachRoute("*.b.example.com", ""),
			[]string{
				`allowed_redirect_hosts|server.allowed_redirect_hosts[0]|"x.apps.example.com" never gets the session cookie: without session.cookie_domain it is the host-only cookie of public_url's host "auth.example.com", so a sign-in there comes back without a session and starts again (forward-auth: 401); set ` + set + ` (return URLs may name it: "*.example.com")`,
				`host = "x.apps.example.com"|routes[1].host|set ` + set,
				`host = "*.b.example.com"|routes[2].host|set ` + set,
			}},
		{"a wildcard return host over a narrower wildcard route", `allowed_redirect_hosts = ["*.example.com"]`, "",
			reachRoute("*.b.example.com", ""),
			[]string{
				`allowed_redirect_hosts|server.allowed_redirect_hosts[0]|"*.b.example.com" never gets the session cookie`,
				`host = "*.b.example.com"|routes[0].host|set ` + set,
			}},
		{"a return host under a wildcard route outside the cookie", `allowed_redirect_hosts = ["a.apps.example.com"]`, "",
			reachRoute("*.apps.example.com", ""),
			[]string{
				`allowed_redirect_hosts|server.allowed_redirect_hosts[0]|set ` + set,
				`host = "*.apps.example.com"|routes[0].host|set ` + set,
			}},
		{"an own __Host- cookie name", "", `cookie_name = "__host-sso"`,
			reachRoute("app.example.com", ""),
			[]string{
				`host = "app.example.com"|routes[0].host|set ` + set + ` and a session.cookie_name with the "__Secure-" prefix in place of "__Host-"`,
			}},
		{"a return host no route serves (sign-out's landing page)", `allowed_redirect_hosts = ["www.example.org", "*.example.net"]`, "",
			reachRoute("auth.example.com", "") + "\n[[routes]]\nhost = \"www.example.org\"\npath = \"/**\"\npublic = true\n", nil},
		{"no session needed", "", "",
			"\n[[routes]]\nhost = \"status.example.com\"\npath = \"/**\"\npublic = true\n" +
				"\n[[routes]]\nhost = \"old.example.com\"\npath = \"/**\"\ndeny = true\n" +
				reachRoute("ci.example.com", `require_claims = { iss = "https://ci.example.net", repository_owner = "example" }`) +
				reachRoute("api.example.com", `require_claims = { aud = "api" }`) +
				reachRoute("id.example.com", `require_claims = { iss = "https://idp.example.com/", aud = "client" }`) +
				reachRoute("reports.example.com", `require_scopes = ["reports:read"]`) +
				reachRoute("me.example.com", `require_scopes = ["email"]`),
			[]string{
				`host = "id.example.com"|routes[4].host|never gets the session cookie`,
				`host = "me.example.com"|routes[6].host|never gets the session cookie`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := reachDoc(tc.server, tc.session, tc.routes)
			cfg := mustParse(t, t.TempDir(), doc, nil)
			var got []string
			for _, w := range cfg.Warnings {
				if strings.Contains(w, "session cookie") && !isPrefixWarning(w) {
					got = append(got, w)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d about the session cookie", cfg.Warnings, len(tc.want))
			}
			for i, w := range tc.want {
				needle, rest, _ := strings.Cut(w, "|")
				key, msg, _ := strings.Cut(rest, "|")
				prefix := fmt.Sprintf("cfg.toml:%d: %s: warning: ", lineWith(t, doc, needle), key)
				if !strings.Contains(got[i], prefix) || !strings.Contains(got[i], msg) {
					t.Errorf("warning %q, want %q ... %q", got[i], prefix, msg)
				}
			}
		})
	}
}

// lineWith is the 1-based line of doc's first line containing needle.
func lineWith(t *testing.T, doc, needle string) int {
	t.Helper()
	for i, l := range strings.Split(doc, "\n") {
		if strings.Contains(l, needle) {
			return i + 1
		}
	}
	t.Fatalf("no line with %q", needle)
	return 0
}

// TestCookieReachAdviceHeals: the cookie_domain a warning names, set, is
// a configuration check accepts and warns no more about that host: advice
// that is a public suffix, misses public_url's host or clashes with the
// cookie name would send the user from one message to another.
func TestCookieReachAdviceHeals(t *testing.T) {
	for _, tc := range []struct{ server, session, routes string }{
		{`allowed_redirect_hosts = ["*.example.com"]`, "", "\n[[routes]]\npath = \"/**\"\nallow_groups = [\"staff\"]\n"},
		{"", "", reachRoute("*.auth.example.com", "")},
		{"", "", reachRoute("a.b.c.example.com", "")},
		{"", `cookie_name = "__Host-sso"`, reachRoute("app.example.com", "")},
		{"", `cookie_domain = "auth.example.com"`, reachRoute("*.example.com", "")},
	} {
		warnings := reachWarnings(mustParse(t, t.TempDir(), reachDoc(tc.server, tc.session, tc.routes), nil))
		if len(warnings) != 1 {
			t.Fatalf("%s: warnings %q, want one", tc.routes, warnings)
		}
		_, dom, ok := strings.Cut(warnings[0], "set session.cookie_domain = ")
		if !ok {
			t.Fatalf("warning %q names no cookie_domain", warnings[0])
		}
		dom, _, _ = strings.Cut(dom, " ")
		healed := "cookie_domain = " + dom
		if strings.Contains(tc.session, "__Host-") {
			healed += "\ncookie_name = \"__Secure-sso\""
		} else if tc.session != "" {
			healed = strings.Replace(tc.session, `"auth.example.com"`, dom, 1)
		}
		if warnings := reachWarnings(mustParse(t, t.TempDir(), reachDoc(tc.server, healed, tc.routes), nil)); len(warnings) != 0 {
			t.Errorf("with %s: warnings %q", healed, warnings)
		}
	}
}

// isPrefixWarning reports whether w is the warning about an unprefixed
// session cookie name on https (TestUnprefixedCookieNameWarned), which a
// cookie_domain with the default name draws besides the reach warnings.
func isPrefixWarning(w string) bool {
	return strings.Contains(w, "prefix on an https public_url")
}

// reachWarnings is cfg's warnings but the prefix one (isPrefixWarning).
func reachWarnings(cfg *Config) []string {
	var out []string
	for _, w := range cfg.Warnings {
		if !isPrefixWarning(w) {
			out = append(out, w)
		}
	}
	return out
}
