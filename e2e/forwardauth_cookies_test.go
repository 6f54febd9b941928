package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestForwardAuthAppGetsNoGatewayCookie: through each documented front
// proxy, a signed-in request reaches the app with the user's other cookies
// and none of the gateway's (its session cookie, a chunk's name, a
// login-state cookie), as in proxy mode: an app that logs or leaks request
// cookies must not hold a session valid on every app the gateway serves.
// Names that merely start or end with the gateway's are the user's. A
// request whose only cookies are the gateway's reaches the app with no
// Cookie header; the identity headers still arrive.
func TestForwardAuthAppGetsNoGatewayCookie(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			session := strings.Join(signedInBehindFront(t, s), "; ")
			for _, c := range []struct {
				name    string
				cookies []string // the request's Cookie lines
				want    string   // the app's Cookie header, "" for none
			}{
				{"other cookies around the session", []string{`theme=dark; ` + session + `; portcullis_x=1; x__Host-portcullis=2; q="a b"; e=; theme=light`},
					`theme=dark; portcullis_x=1; x__Host-portcullis=2; q="a b"; e=; theme=light`},
				{"several Cookie lines", []string{"a=1", session, "portcullis_login_abc=s; b=2"}, "a=1; b=2"},
				{"the gateway's cookies only", []string{session + "; portcullis_login_zz=x"}, ""},
				// Bytes beyond ASCII, commas, no space after ";", and a value
				// without a name (document.cookie = "flag") pass as they came.
				{"odd cookies", []string{"u=\u00fc\u20ac;" + session + ";c=1,2;flag"}, "u=\u00fc\u20ac; c=1,2; flag"},
				{"a nameless cookie alone", []string{session + "; flag"}, "flag"},
			} {
				req, _ := http.NewRequest("GET", "http://"+s.front+"/hello", nil)
				req.Header.Set("Accept", "application/json")
				req.Header["Cookie"] = c.cookies
				resp, err := plainClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d, want 200", c.name, resp.StatusCode)
					continue
				}
				got := s.up.last().Headers
				if !slices.Equal(got["Cookie"], nonEmpty(c.want)) {
					// Names only: a session cookie's value is a credential.
					t.Errorf("%s: the app's Cookie header names %q, want %q", c.name, cookieNames(got["Cookie"]), cookieNames(nonEmpty(c.want)))
				}
				// Caddy sets X-Forwarded-User, Traefik and ingress-nginx pass the
				// answer's X-Auth-Request-User, nginx both.
				if u, v := got.Get("X-Forwarded-User"), got.Get("X-Auth-Request-User"); u != "alice" && v != "alice" {
					t.Errorf("%s: X-Forwarded-User %q, X-Auth-Request-User %q, want alice", c.name, u, v)
				}
			}
		})
	}
}

// cookieNames lists the names of the cookies in Cookie header values,
// per line.
func cookieNames(vals []string) []string {
	var names []string
	for _, v := range vals {
		var line []string
		for _, pair := range strings.Split(v, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(pair), "=")
			line = append(line, name)
		}
		names = append(names, strings.Join(line, " "))
	}
	return names
}

// nonEmpty is v as header values: none when v is "".
func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// signedInBehindFront signs a browser in through s's front proxy (a
// request to /hello) and returns its cookies for the front's origin as
// "name=value" pairs: the gateway's session among them.
func signedInBehindFront(t *testing.T, s frontSetup) []string {
	t.Helper()
	alice := browser(t)
	if status, body, _ := get(t, alice, "http://"+s.front+"/hello"); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	u, _ := url.Parse("http://" + s.front + "/")
	var own []string
	for _, c := range alice.Jar.Cookies(u) {
		own = append(own, c.Name+"="+c.Value)
	}
	if len(own) == 0 {
		t.Fatal("no session cookie after the login")
	}
	return own
}
