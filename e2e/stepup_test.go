package e2e

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// stepUpRoutes require the scope reports:write on /reports/** only.
const stepUpRoutes = `
[[routes]]
path = "/reports/**"
require_scopes = ["reports:write"]

[[routes]]
path = "/**"
`

// quietStepUp starts a provider whose token responses state no scope and a
// gateway with stepUpRoutes in front of up, and signs a browser in there;
// it returns the provider, the gateway, the browser and its redirect count.
func quietStepUp(t *testing.T, up *upstream) (*oidctest.Provider, *gateway, *http.Client, *int) {
	t.Helper()
	quiet := oidctest.New(t, oidctest.Options{OmitTokenScope: true})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(quiet, up.URL, "", stepUpRoutes))
	c, redirects := redirectCounter(t)
	if status, _, _ := get(t, c, gw.URL+"/home"); status != 200 {
		t.Fatalf("login: %d", status)
	}
	return quiet, gw, c, redirects
}

// stepUpLocation requests url with c's cookies, without following
// redirects, and returns where the step-up sends the browser, which must be
// the authorization endpoint of the provider at issuer.
func stepUpLocation(t *testing.T, c *http.Client, target, issuer string) *url.URL {
	t.Helper()
	noFollow := &http.Client{Jar: c.Jar, Transport: clientTransport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	status, _, resp := get(t, noFollow, target)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), issuer+"/authorize") {
		t.Fatalf("want a 302 to the provider, got %d %q", status, resp.Header.Get("Location"))
	}
	return loc
}

// TestStepUp proves incremental authorization through the real gateway: a
// browser session without a route's scope is sent back to the provider
// asking for the granted plus the missing scope; when the provider grants
// it the request goes through, and when it does not, a 403 page names the
// scope, without a second trip to the provider.
func TestStepUp(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", stepUpRoutes))
	// login signs a fresh browser in with the configured scopes.
	login := func(t *testing.T) (*http.Client, *int) {
		c, redirects := redirectCounter(t)
		if status, body, _ := get(t, c, gw.URL+"/home"); status != 200 {
			t.Fatalf("login: %d\n%s", status, body)
		}
		if got := p.LastAuthorize().Get("scope"); got != "openid email profile" {
			t.Fatalf("first login asked for scope %q", got)
		}
		return c, redirects
	}

	t.Run("provider grants the scope", func(t *testing.T) {
		p.SetWithheldScopes()
		c, _ := login(t)
		loc := stepUpLocation(t, c, gw.URL+"/reports/q1?x=1", p.Issuer)
		scopes := strings.Fields(loc.Query().Get("scope"))
		slices.Sort(scopes)
		if want := []string{"email", "openid", "profile", "reports:write"}; !slices.Equal(scopes, want) {
			t.Errorf("step-up asks for scope %q, want the union %q", loc.Query().Get("scope"), want)
		}
		if loc.Query().Get("include_granted_scopes") != "true" {
			t.Errorf("no include_granted_scopes=true in %s", loc)
		}
		status, body, _ := get(t, c, loc.String())
		if status != 200 {
			t.Fatalf("after the step-up: %d\n%s", status, body)
		}
		if got := p.LastAuthorize().Get("scope"); got != loc.Query().Get("scope") {
			t.Errorf("provider saw scope %q", got)
		}
		if s := decodeSeen(t, body); s.Path != "/reports/q1" || s.Query != "x=1" {
			t.Errorf("upstream got %s?%s after the step-up", s.Path, s.Query)
		}
	})

	// RFC 6749 §5.1: a token response without scope grants the requested
	// one, here the step-up's union.
	t.Run("provider states no scope", func(t *testing.T) {
		t.Parallel()
		quiet, gw, c, redirects := quietStepUp(t, up)
		status, body, _ := get(t, c, gw.URL+"/reports/q3")
		// The grant's scope came from asking the provider, not from the
		// token answer, which states none.
		if status != 200 || *redirects != 3 || quiet.Requests("/authorize") != 2 || quiet.Requests("/introspect") == 0 {
			t.Fatalf("after the step-up: %d after %d redirects, %d authorizations, %d introspections\n%s",
				status, *redirects, quiet.Requests("/authorize"), quiet.Requests("/introspect"), body)
		}
	})

	// The browser carries the step-up's authorization request: a user who
	// drops the scope from it gets a grant without it, which a provider
	// that states no scope does not spell out. The gateway asks the
	// provider (introspection) instead of taking what it requested.
	t.Run("browser drops the scope from the request", func(t *testing.T) {
		t.Parallel()
		quiet, gw, c, _ := quietStepUp(t, up)
		loc := stepUpLocation(t, c, gw.URL+"/reports/q4", quiet.Issuer)
		q := loc.Query()
		q.Set("scope", "openid email profile")
		loc.RawQuery = q.Encode()
		status, body, _ := get(t, c, loc.String())
		if status != http.StatusForbidden || !strings.Contains(body, "reports:write") {
			t.Fatalf("after a step-up without the scope: %d, want a 403 naming reports:write\n%s", status, body)
		}
	})

	t.Run("provider withholds the scope", func(t *testing.T) {
		p.SetWithheldScopes("reports:write")
		c, redirects := login(t)
		authorizes, before := p.Requests("/authorize"), up.count()
		status, page, resp := get(t, c, gw.URL+"/reports/q2")
		if status != http.StatusForbidden || !strings.Contains(page, "reports:write") {
			t.Fatalf("want a 403 page naming reports:write, got %d\n%s", status, page)
		}
		if resp.Request.URL.Path != "/reports/q2" || *redirects != 3 {
			t.Errorf("ended at %s after %d redirects, want /reports/q2 after 3 (gateway, provider, callback)",
				resp.Request.URL, *redirects)
		}
		if n := p.Requests("/authorize") - authorizes; n != 1 {
			t.Errorf("%d authorization requests, want exactly one step-up", n)
		}
		// Within the window the session is not sent to the provider again.
		*redirects = 0
		if status, _, _ := get(t, c, gw.URL+"/reports/q2"); status != http.StatusForbidden || *redirects != 0 {
			t.Errorf("second visit: %d after %d redirects, want a 403 at once", status, *redirects)
		}
		if n := p.Requests("/authorize") - authorizes; n != 1 {
			t.Errorf("%d authorization requests after the second visit", n)
		}
		// An API call of the same session gets the RFC 6750 answer.
		req, _ := http.NewRequest("POST", gw.URL+"/reports/q2", nil)
		req.Header.Set("Accept", "application/json")
		r2, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r2.Body.Close()
		if want := `Bearer error="insufficient_scope", scope="reports:write"`; r2.StatusCode != 403 || r2.Header.Get("WWW-Authenticate") != want {
			t.Errorf("API call: %d %q", r2.StatusCode, r2.Header.Get("WWW-Authenticate"))
		}
		if up.count() != before {
			t.Error("a refused request reached the upstream")
		}
	})
}
