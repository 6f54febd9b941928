package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/nodeop"
)

// TestEditedMaxAgeNeedsAFreshSignIn: with auth_params max_age = "0" the
// operator wants a password at every sign-in. The browser carries the
// authorization request, so its user can turn max_age=0 into a day; a real
// provider (node oidc-provider) then signs in from its session without a
// password and says so in auth_time, which dates the password from before
// this sign-in began. The gateway allowed an auth_time up to max_age plus
// the 10 minutes a login may take before the callback, though the login
// state says when the sign-in began: 30 s after a password, a sign-in
// without one went through. An honest sign-in (max_age=0 as sent) still
// works: the provider asks for the password again.
func TestEditedMaxAgeNeedsAFreshSignIn(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	a := pickAddrs(t)
	op := nodeop.Start(t, nodeop.Options{Clients: []nodeop.Client{{
		ID: "gw", Secret: "gw-secret", RedirectURIs: []string{"http://" + a.Listen + "/oauth2/callback"},
	}}})
	gw := startGateway(t, a, tomlConfig{
		Provider: oidcProvider(op.Issuer, "gw", "gw-secret") + "auth_params = { max_age = \"0\" }\n",
		Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	resp := op.Login(t, c, gw.URL+"/oauth2/start?rd=/app/first", "carol")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/app/first" {
		t.Fatalf("first sign-in: %d at %s\n%s", resp.StatusCode, resp.Request.URL, gw.Proc.Output())
	}
	passwordAt := time.Now()
	// Past the 30 s leeway: the password now dates from before any
	// sign-in started from here on.
	sleepUntil(passwordAt.Add(32 * time.Second))

	authorize := authorizationRequest(t, c, gw.URL+"/oauth2/start?rd=/app/second")
	q := authorize.Query()
	if q.Get("max_age") != "0" {
		t.Fatalf("the authorization request asks max_age %q, want 0", q.Get("max_age"))
	}
	q.Set("max_age", "86400")
	authorize.RawQuery = q.Encode()
	status, body, resp := get(t, c, authorize.String())
	if status == http.StatusOK && resp.Request.URL.Path == "/app/second" {
		t.Fatalf("a sign-in whose max_age the user edited went through without a password, as %q",
			decodeSeen(t, body).Headers.Get("X-Forwarded-User"))
	}
	if status != http.StatusBadGateway || !strings.Contains(body, "Sign-in failed") {
		t.Errorf("edited max_age: %d at %s, want the 502 sign-in failure\n%s", status, resp.Request.URL, body)
	}
	line := logLine(t, gw, "auth_time")
	if !strings.Contains(line, "max_age") {
		t.Errorf("the refusal does not name max_age:\n%s", line)
	}

	// As sent, max_age=0 makes the provider ask for the password again.
	resp = op.Login(t, c, gw.URL+"/oauth2/start?rd=/app/third", "carol")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/app/third" {
		t.Errorf("honest sign-in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
}

// authorizationRequest GETs start with c's cookies, keeps the login-state
// cookie it sets, and returns the provider URL it redirects to, unfollowed.
func authorizationRequest(tb testing.TB, c *http.Client, start string) *url.URL {
	tb.Helper()
	stop := *c
	stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := stop.Get(start)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	u, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || u.Host == "" {
		tb.Fatalf("start: %d to %q, want a 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
	}
	return u
}
