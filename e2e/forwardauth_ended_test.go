package e2e

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestForwardAuthEndedSessionClearsCookie: through each documented front
// proxy, the request at which a session ends (here its refresh is refused)
// leaves the browser without the session cookie, whatever kind of request
// it is, as in proxy mode. With the cookie store the cleared cookie is the
// only way the browser forgets the session: a dead cookie it keeps is
// refused by the replica that ended it for 10 minutes only, and after that
// a copy can be refreshed again once the provider takes its refresh token.
// The gateway's /oauth2/start clears the cookie too, but not on a
// navigation that comes from another site (a link in a mail), nor for a
// page's fetch that ingress-nginx redirects there: the front proxy must
// hand the browser the 401's Set-Cookie, on its redirect to start too.
func TestForwardAuthEndedSessionClearsCookie(t *testing.T) {
	t.Parallel() // each front waits for its session's refresh to be due
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFrontWith(t, front.trusted, front.start,
				oidctest.Options{AccessTokenLifetime: 3 * time.Second}, "refresh_margin = \"2s\"\n")
			for _, c := range []struct {
				name   string
				header map[string]string
			}{
				{"a page's fetch", map[string]string{"Accept": "application/json",
					"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Dest": "empty"}},
				{"a navigation", map[string]string{"Accept": "text/html",
					"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document"}},
				{"a navigation from another site", map[string]string{"Accept": "text/html",
					"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "document"}},
				{"a client that is no browser", map[string]string{"Accept": "application/json"}},
			} {
				endedSessionClears(t, s, c.name, c.header)
			}
		})
	}
}

// endedSessionClears signs a browser in through the front proxy, has the
// provider refuse the session's refresh, sends one request with header and
// follows its redirects on the front proxy's host: the browser must hold
// no session cookie afterwards.
func endedSessionClears(t *testing.T, s frontSetup, name string, header map[string]string) {
	t.Helper()
	s.p.SetFaults(0)
	c := browser(t)
	front := "http://" + s.front
	if status, body, _ := get(t, c, front+"/hello"); status != 200 {
		t.Fatalf("%s: login: %d %s", name, status, body)
	}
	signedIn := time.Now()
	home, _ := url.Parse(front + "/")
	if !hasCookie(c, home, "portcullis") {
		t.Fatalf("%s: no session cookie after the login", name)
	}
	// The access token is within refresh_margin of its expiry after 1 s:
	// the next request refreshes it, and the provider's answer (an ID
	// token for another subject) is refused.
	s.p.SetFaults(oidctest.FaultChangedSub)
	sleepUntil(signedIn.Add(1200 * time.Millisecond))
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != s.front {
			return http.ErrUseLastResponse // the provider: the sign-in page
		}
		return nil
	}
	req, _ := http.NewRequest("GET", front+"/hello", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	before := s.up.count()
	resp, err := c.Do(req)
	if err != nil && !errors.Is(err, http.ErrUseLastResponse) {
		t.Fatalf("%s: %v", name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if s.up.count() != before {
		t.Errorf("%s: the app was reached with the ended session", name)
	}
	if hasCookie(c, home, "portcullis") {
		t.Errorf("%s: the browser still holds the ended session's cookie after %d at %s", name, resp.StatusCode, resp.Request.URL.Path)
	}
}

// hasCookie reports whether c's jar sends a cookie named name to u.
func hasCookie(c *http.Client, u *url.URL, name string) bool {
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return true
		}
	}
	return false
}

// TestForwardAuthRefreshedCookieOnAppError: through each documented front
// proxy, the session cookie the gateway refreshed on the way reaches the
// browser whatever the app answers, its 404 included. The nginx snippet
// added it to 2xx and 3xx answers only: the browser kept the cookie whose
// refresh token the provider had rotated away, and once the replica's
// memory of that refresh was gone (30 s) its next refresh was refused and
// the session ended.
func TestForwardAuthRefreshedCookieOnAppError(t *testing.T) {
	t.Parallel() // each front waits for its session's refresh to be due
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFrontWith(t, front.trusted, front.start,
				oidctest.Options{AccessTokenLifetime: 3 * time.Second}, "refresh_margin = \"2s\"\n")
			c := browser(t)
			front := "http://" + s.front
			if status, body, _ := get(t, c, front+"/hello"); status != 200 {
				t.Fatalf("login: %d %s", status, body)
			}
			signedIn := time.Now()
			home, _ := url.Parse(front + "/")
			old := sessionValue(c, home)
			sleepUntil(signedIn.Add(1200 * time.Millisecond)) // within refresh_margin
			tokens := s.p.Requests("/token")
			if st := apiStatus(t, c, "GET", front+"/missing/page", nil); st != http.StatusNotFound || s.p.Requests("/token") == tokens {
				t.Fatalf("the app's 404 with a refresh: %d, %d token requests", st, s.p.Requests("/token")-tokens)
			}
			if v := sessionValue(c, home); v == "" || v == old {
				t.Error("the browser did not get the refreshed session cookie with the app's 404")
			}
		})
	}
}

// sessionValue is the value of the session cookie c's jar sends to u.
func sessionValue(c *http.Client, u *url.URL) string {
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "portcullis" {
			return ck.Value
		}
	}
	return ""
}
