package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// rawResponse sends raw bytes to addr and returns the answer.
func rawResponse(t *testing.T, addr, raw string) (*http.Response, string) {
	t.Helper()
	resp, body, err := rawExchange(t, addr, raw)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return resp, body
}

// rawExchange sends raw bytes to addr and reads one answer: an answer
// that is no HTTP response is err.
func rawExchange(t *testing.T, addr, raw string) (*http.Response, string, error) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), nil
}

// redTeamFronts are the front proxies the red-team tests go through: every
// documented one (nginx, Caddy, Traefik and the ingress-nginx emulation).
var redTeamFronts = frontProxies

// bobBehindFront starts the gateway behind front and signs bob (staff, not
// an admin) in through it: the set-up, bob's browser, the front's origin
// and bob's Cookie header.
func bobBehindFront(t *testing.T, trusted string, start func(tb testing.TB, listen, gateway, app string)) (frontSetup, *http.Client, string, string) {
	t.Helper()
	s := behindFront(t, trusted, start)
	origin := "http://" + s.front
	bob, cookie := signInBob(t, s.p, origin)
	return s, bob, origin, cookie
}

// signInBob makes bob (staff, not an admin) p's user and signs him in at
// origin: his browser and his Cookie header there.
func signInBob(t *testing.T, p *oidctest.Provider, origin string) (*http.Client, string) {
	t.Helper()
	p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{"email": "bob@example.com",
		"email_verified": true, "groups": []any{"staff"}}})
	bob := browser(t)
	if status, body, _ := get(t, bob, origin+"/hello"); status != 200 {
		t.Fatalf("bob's login: %d %s", status, body)
	}
	return bob, cookieHeader(bob.Jar.Cookies(mustURL(t, origin)))
}

// TestRedTeamForwardAuthEndpointFromClient: the forward-auth endpoint
// answers the front proxy only. A signed-in client that asks for it
// through the front, in any spelling the front passes on to the gateway's
// other endpoints, never gets its identity headers or signed assertion.
func TestRedTeamForwardAuthEndpointFromClient(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range redTeamFronts {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s, _, _, cookie := bobBehindFront(t, front.trusted, front.start)
			n := 0
			for _, target := range []string{"/oauth2/auth", "/oauth2/auth?x=1", "/oauth2//auth", "/oauth2/auth/", "/OAUTH2/AUTH",
				"/oauth2/Auth", "/oauth2/%61uth", "/oauth2/%61%75%74%68", "/oauth2/./auth", "/oauth2/x/../auth", "/oauth2/auth;x",
				"/oauth2/auth%3F", "/oauth2/auth%23", "/oauth2/auth.", "/oauth2/auth%20", "/oauth2/auth%00", "//oauth2/auth",
				"/oauth2%2fauth", "/oauth2/auth/.", "/oauth2/auth/..", "/./oauth2/auth", "/oauth2/auth%2f", "/oauth2/ａuth",
				"http://" + s.front + "/oauth2/auth", "/oauth2/auth#x"} {
				for _, m := range []string{"GET", "POST", "HEAD"} {
					n++
					before := s.up.count()
					resp, body := rawResponse(t, s.front, m+" "+target+" HTTP/1.1\r\nHost: "+s.front+"\r\nCookie: "+cookie+
						"\r\nX-Forwarded-Uri: /admin/x\r\nX-Forwarded-Method: GET\r\nAccept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
					for _, h := range []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Portcullis-Jwt-Assertion", "X-Auth-Request-Groups"} {
						if v := resp.Header.Get(h); v != "" {
							t.Errorf("%s %q: %d, and the client got %s: %.40s", m, target, resp.StatusCode, h, v)
						}
					}
					// The app's echo of an ordinary page ("/OAUTH2/AUTH" is one
					// for nginx) shows the assertion the app received.
					if s.up.count() == before && strings.Contains(body, "eyJ") {
						t.Errorf("%s %q: %d with a token in the body", m, target, resp.StatusCode)
					}
				}
			}
			t.Logf("%d probes", n)
		})
	}
}
