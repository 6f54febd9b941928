package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// openRedirects are return URLs that name another host to some parser: a
// browser's (WHATWG: backslashes are slashes, tab and newline are dropped,
// "https:evil" is relative only to an https page), Go's or a proxy's.
func openRedirects(gwHost string) []string {
	_, port, _ := strings.Cut(gwHost, ":")
	return []string{
		"//evil.test/", "///evil.test/", "/\\evil.test/", "\\/evil.test/", "\\\\evil.test/",
		"https:evil.test", "http:evil.test", "http:/evil.test", "http:\\\\evil.test",
		"%2F%2Fevil.test", "/%2F%2Fevil.test", "/%5Cevil.test", "/%2F/evil.test",
		"/\t/evil.test", "/\n/evil.test", "/\r\n/evil.test", "\t//evil.test", " //evil.test",
		"/\x00/evil.test", "//%09evil.test", "/.//evil.test", "/./\\evil.test",
		"http://" + gwHost + "@evil.test/", "http://evil.test\\@" + gwHost + "/",
		"http://evil.test#@" + gwHost + "/", "http://evil.test?@" + gwHost + "/",
		"http://evil.test%2F@" + gwHost + "/", "http://user:pw@evil.test/",
		"http://еvil.test/", "http://xn--vil-xjd.test/", "http://evil。test/",
		"http://127.0.0.1:1/", "http://127.0.0.1/", "http://localhost:" + port + "/", "http://127.0.0.2:" + port + "/",
		"http://[::1]:1/", "http://[::ffff:127.0.0.1]/", "http://0x7f000001/", "http://2130706433/",
		"javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", " javascript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
		"/x?<script>alert(1)</script>", "/x#\"><script>alert(1)</script>",
	}
}

// safeLocation: a Location a browser resolves on the gateway's own origin
// under every parser: its own absolute origin, or a path that starts with
// one "/", never "//" or "/\", without backslashes, controls or spaces.
func safeLocation(loc, origin string) bool {
	if strings.ContainsAny(loc, "\\ \t\r\n\x00") {
		return false
	}
	for _, c := range loc {
		if c < 0x20 || c == 0x7f || c > 0x7e {
			return false
		}
	}
	if strings.HasPrefix(loc, origin+"/") || loc == origin {
		return true
	}
	return strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//")
}

// chase follows redirects by hand from target at the browser c, only to
// the gateway and the provider, and returns every Location the gateway sent.
func chase(t *testing.T, c *http.Client, target, gwOrigin, opOrigin string) []string {
	t.Helper()
	var locs []string
	for range 8 {
		req, err := http.NewRequest("GET", target, nil)
		if err != nil {
			t.Fatalf("%q: %v", target, err)
		}
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %q: %v", target, err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return locs
		}
		if strings.HasPrefix(target, gwOrigin) {
			locs = append(locs, loc)
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return locs
		}
		if o := next.Scheme + "://" + next.Host; o != gwOrigin && o != opOrigin {
			return locs
		}
		target = next.String()
	}
	t.Fatalf("redirect loop from %s", target)
	return nil
}

// offSite asks origin for target (a path and query) at a new browser, one
// that has signed in first when target is the sign-out, and chases its
// redirects: the Locations the gateway sent that lead neither to the
// provider at issuer nor back to origin.
func offSite(t *testing.T, origin, issuer, target string) []string {
	t.Helper()
	c := browser(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if strings.HasPrefix(target, "/oauth2/sign_out") {
		chase(t, c, origin+"/oauth2/start", origin, issuer)
	}
	var bad []string
	for _, loc := range chase(t, c, origin+target, origin, issuer) {
		if !strings.HasPrefix(loc, issuer+"/") && !safeLocation(loc, origin) {
			bad = append(bad, loc)
		}
	}
	return bad
}

// TestRedTeamOpenRedirect: every URL parameter (start's rd, sign_out's rd
// through the provider's end-session endpoint and signed_out, and the
// return URL a login keeps in its state) with the open-redirect corpus ends
// on the gateway's own origin, in a Location no browser reads elsewhere.
func TestRedTeamOpenRedirect(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	gwHost := strings.TrimPrefix(gw.URL, "http://")
	probes := 0
	for _, rd := range openRedirects(gwHost) {
		for _, ep := range []string{"/oauth2/start", "/oauth2/sign_out"} {
			probes++
			for _, loc := range offSite(t, gw.URL, p.Issuer, ep+"?rd="+url.QueryEscape(rd)) {
				t.Errorf("%s?rd=%q: the gateway redirected to %q", ep, rd, loc)
			}
		}
	}
	// Duplicated and disguised rd parameters: whichever one the gateway
	// reads, it checks that one.
	for _, q := range []string{"rd=%2Fok&rd=%2F%2Fevil.test", "rd=%2F%2Fevil.test&rd=%2Fok", "rd=%2F%2Fevil.test;rd=%2Fok",
		"rd=%2Fok;rd=%2F%2Fevil.test", "RD=%2F%2Fevil.test", "rd[]=%2F%2Fevil.test", "rd=%2Fok%00%2F%2Fevil.test",
		"rd=%2Fok%23%2F%2Fevil.test", "rd=%2Fok&rd=", "rd=/%09/evil.test", "rd=%E3%80%82%2Fevil.test"} {
		for _, ep := range []string{"/oauth2/start", "/oauth2/sign_out"} {
			probes++
			for _, loc := range offSite(t, gw.URL, p.Issuer, ep+"?"+q) {
				t.Errorf("%s?%s: the gateway redirected to %q", ep, q, loc)
			}
		}
	}
	// A protected page whose own path is a corpus entry: the login returns
	// to it, on the gateway.
	for _, path := range []string{"//evil.test/x", "/\\evil.test/x", "/%5Cevil.test", "/%2F%2Fevil.test", "/.//evil.test"} {
		probes++
		for _, loc := range offSite(t, gw.URL, p.Issuer, path) {
			t.Errorf("login from %q: the gateway redirected to %q", path, loc)
		}
	}
	// The chase sees the redirects it judges: an honest rd arrives.
	for _, ep := range []string{"/oauth2/start", "/oauth2/sign_out"} {
		c := browser(t)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		locs := chase(t, c, gw.URL+ep+"?rd=%2Flanding%3Fa%3D1", gw.URL, p.Issuer)
		if len(locs) == 0 || locs[len(locs)-1] != "/landing?a=1" {
			t.Errorf("%s with an honest rd: redirects %q, want the last to /landing?a=1", ep, locs)
		}
	}
	t.Logf("%d open-redirect probes", probes)
	if resp, err := plainClient.Get(gw.OpsURL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("gateway down after the probes: %v", err)
	}
}
