package e2e

import (
	"strings"
	"testing"
)

// TestRedTeamForwardAuthFrontResolved: a target the front proxy resolves
// into its route to the gateway's endpoints ("/admin/x/..%2f..%2foauth2/start"
// is "/oauth2/start" to nginx and Caddy) reaches the gateway with the raw
// path, undecided by forward-auth, and an absolute-form target with a Host
// of a public host ("GET http://front/oauth2/x" with "Host: public.test")
// reaches it with that Host (nginx's endpoint location passes $http_host).
// Neither reaches the app, nor gives the client identity headers, signed in
// or not.
func TestRedTeamForwardAuthFrontResolved(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range redTeamFronts {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s, _, _, cookie := bobBehindFront(t, front.trusted, front.start)
			n := 0
			for _, path := range []string{"/oauth2/x", "/admin/x/..%2f..%2foauth2/start",
				"/admin/x/%2e%2e/%2e%2e/oauth2/start", "/admin/..%2Foauth2/userinfo", "/admin/x/../../oauth2/x",
				"/public/..%2F..%2Fadmin/x/..%2F..%2Foauth2/start", "/admin/x/..%5c..%5coauth2/start",
				"/admin/x;/../../oauth2/start", "/admin%2Fx%2F..%2F..%2Foauth2%2Fstart"} {
				for _, target := range []string{path, "http://" + s.front + path} {
					for _, host := range []string{s.front, "public.test"} {
						for _, c := range []string{"", "Cookie: " + cookie + "\r\n"} {
							n++
							before := s.up.count()
							resp, _, err := rawExchange(t, s.front, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+c+
								"X-Forwarded-Uri: /public/x\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
							if s.up.count() != before {
								got := s.up.last()
								t.Errorf("%q Host %s: the app received %s %q", target, host, got.Method, got.Path)
							}
							if err != nil {
								continue // the front closed the connection: nothing reached anyone
							}
							for _, h := range []string{"X-Auth-Request-User", "X-Auth-Request-Groups", "X-Portcullis-Jwt-Assertion"} {
								if v := resp.Header.Get(h); v != "" {
									t.Errorf("%q Host %s: %d, and the client got %s: %.40s", target, host, resp.StatusCode, h, v)
								}
							}
						}
					}
				}
			}
			t.Logf("%d probes", n)
		})
	}
}

// TestRedTeamForwardAuthRawReturnTargets: a browser's navigation without a
// session to a target only raw bytes can spell (a backslash, which browsers
// and Go's client escape, an '@', a '#' after the query) is refused or sent
// to sign in, and every redirect of that sign-in stays on the front's
// origin or the provider's.
func TestRedTeamForwardAuthRawReturnTargets(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range redTeamFronts {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			origin := "http://" + s.front
			redirected := 0
			for _, target := range []string{"/\\evil.test", "/\\\\evil.test/", "/\\/evil.test", "/.\\evil.test",
				"/%5C%5Cevil.test", "/%2F%5Cevil.test", "/%09/evil.test", "/x?a=1#//evil.test",
				"/@evil.test", "/x@evil.test", "/%40evil.test", "/x?rd=/\\evil.test"} {
				resp, _ := rawResponse(t, s.front, "GET "+target+" HTTP/1.1\r\nHost: "+s.front+
					"\r\nAccept: text/html\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Site: none\r\nConnection: close\r\n\r\n")
				loc := strings.TrimPrefix(resp.Header.Get("Location"), origin)
				if loc == "" {
					if resp.StatusCode != 400 && resp.StatusCode != 401 && resp.StatusCode != 500 {
						t.Errorf("%q: %d without a Location", target, resp.StatusCode)
					}
					continue
				}
				if !strings.HasPrefix(loc, "/oauth2/start?") {
					t.Errorf("%q: %d to %q", target, resp.StatusCode, resp.Header.Get("Location"))
					continue
				}
				redirected++
				for _, l := range offSite(t, origin, s.p.Issuer, loc) {
					t.Errorf("%q, then %q: redirected to %q", target, loc, l)
				}
			}
			t.Logf("%d sent to sign in", redirected)
		})
	}
}
