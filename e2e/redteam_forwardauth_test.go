package e2e

import (
	"net/url"
	"strings"
	"testing"
)

// dashedIdentitySpoofs are identitySpoofs' dashed spellings as raw header
// lines with the value mallory ("admins" for the groups): a front passes
// them and the gateway decides the request (it refuses an '_' spelling),
// so the app must see the gateway's values, never these.
func dashedIdentitySpoofs() string {
	var b strings.Builder
	for _, k := range identitySpoofs {
		if v := "mallory"; !strings.Contains(k, "_") {
			if strings.HasSuffix(strings.ToLower(k), "-groups") {
				v = "admins"
			}
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	return b.String()
}

// TestRedTeamForwardAuth: behind nginx and Caddy with the documented
// snippets, a signed-in user outside the group admins sends the path
// tricks against /admin/** and the request-naming headers, and every
// return URL of the front's /oauth2/ endpoints gets the open-redirect
// corpus: the app never receives an /admin path, and every redirect stays on
// the front's origin.
func TestRedTeamForwardAuth(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range redTeamFronts {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s, bob, origin, cookie := bobBehindFront(t, front.trusted, front.start)
			probes := 0
			spoof := "X-Original-URL: http://" + s.front + "/hello\r\nX-Rewrite-URL: /hello\r\nX-Forwarded-Uri: /hello\r\n" +
				"X-Original-URI: /hello\r\nX-Forwarded-Method: GET\r\nX-Original-Method: GET\r\nX-HTTP-Method-Override: GET\r\n" +
				"X-Forwarded-Host: public.test\r\nX-Forwarded-User: mallory\r\nX_Forwarded_Groups: admins\r\n"
			for _, m := range []string{"GET", "POST", "DELETE"} {
				for _, target := range adminTricks(s.front) {
					for _, extra := range []string{"", spoof, dashedIdentitySpoofs()} {
						probes++
						before := s.up.count()
						status, body := rawDo(t, s.front, m+" "+target+" HTTP/1.1\r\nHost: "+s.front+"\r\nCookie: "+cookie+
							"\r\n"+extra+"Accept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
						if status == 0 {
							t.Errorf("%s %q: no answer: %s", m, target, body)
						}
						if s.up.count() > before {
							got := s.up.last()
							if reachesAdmin(got.Path) {
								t.Errorf("%s %q (spoof %v): %d, and the app received %s %q", m, target, extra != "", status, got.Method, got.Path)
							}
							for k, vs := range got.Headers {
								if strings.Contains(strings.Join(vs, ","), "mallory") || strings.HasSuffix(foldName(k), "_GROUPS") && strings.Contains(strings.Join(vs, ","), "admins") {
									t.Errorf("%s %q: the app received %s: %q", m, target, k, vs)
								}
							}
						}
					}
				}
			}
			gwHost := s.front
			for _, rd := range openRedirects(gwHost) {
				for _, ep := range []string{"/oauth2/start", "/oauth2/sign_out"} {
					probes++
					for _, loc := range offSite(t, origin, s.p.Issuer, ep+"?rd="+url.QueryEscape(rd)) {
						t.Errorf("%s?rd=%q: redirected to %q", ep, rd, loc)
					}
				}
			}
			// A page asked for through the front that starts a login
			// returns to itself, never elsewhere.
			for _, path := range []string{"//evil.test/x", "/%5Cevil.test", "/.//evil.test", "/x?rd=//evil.test"} {
				probes++
				for _, loc := range offSite(t, origin, s.p.Issuer, path) {
					t.Errorf("login from %q: redirected to %q", path, loc)
				}
			}
			t.Logf("%d forward-auth probes", probes)
			if status, _, _ := get(t, bob, origin+"/hello"); status != 200 {
				t.Fatalf("no longer serves bob: %d\n%s", status, s.gw.Proc.Output())
			}
		})
	}
}

// TestRedTeamForwardAuthNoSession: a client without a session (an API
// call, a navigation, a form's POST, a page's fetch, a bad bearer token)
// asks for a protected page through each front. The app never receives it;
// the answer is the gateway's 401 (Traefik always, nginx and Caddy but for
// a navigation) or a 302 to start on the front's own origin (every 401 for
// ingress-nginx, whose auth-signin redirects them all: forward-auth.md,
// which 401 goes to sign in).
func TestRedTeamForwardAuthNoSession(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range redTeamFronts {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			origin := "http://" + s.front
			probes := 0
			for _, target := range []string{"/hello", "/admin/x", "/api/x", "/hello?rd=//evil.test"} {
				for _, hdr := range []map[string]string{
					{"Accept": "application/json"},
					{"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"},
					{"Accept": "text/html", "Sec-Fetch-Mode": "cors"},
					{"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Mode": "navigate"},
					{"Authorization": "Bearer not-a-token"},
					{"Cookie": "__Host-portcullis=forged; portcullis=forged; portcullis_1=x"},
				} {
					for _, m := range []string{"GET", "POST"} {
						probes++
						before := s.up.count()
						status, h := send(t, browser(t), m, origin+target, hdr)
						if s.up.count() != before {
							t.Errorf("%s %s %v: %d, and the app received it", m, target, hdr, status)
						}
						loc := h.Get("Location")
						switch {
						case status == 401 && front.name != "ingress-nginx":
						// nginx's and Caddy's snippets redirect a navigation's 401.
						case status == 302 && front.name != "traefik" &&
							(strings.HasPrefix(loc, "/oauth2/start?") || strings.HasPrefix(loc, origin+"/oauth2/start?")):
						default:
							t.Errorf("%s %s %v: %d Location %q", m, target, hdr, status, loc)
						}
					}
				}
			}
			t.Logf("%d no-session probes", probes)
		})
	}
}
