package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// wildcardLookalikes are return URLs that a suffix or substring check of
// the allowed host "*.example.com" lets through: oauth2-proxy's
// whitelist-domain ".example.com" allowed a host that only ended in the
// domain, and Vouch's domain check one that contained it. Each names a host
// outside example.com to a browser.
var wildcardLookalikes = []string{"https://evilexample.com/x", "https://example.com.evil.test/x",
	"https://app.example.com.evil.test/x", "https://evil.test/.example.com", "https://evil.test?.example.com",
	"https://evil.test#.example.com", "https://evil.test\\.example.com/x", "https://evil.test%2F.example.com/x",
	"https://evil.test%00.example.com/x", "https://app.example.com@evil.test/x", "https://evil.test\\@app.example.com/x",
	"https://evil.test%40app.example.com/x", "https://evil.test:443.example.com/x", "https://evil.test..example.com/x",
	"https://evil.test。example.com/x", "https://evil.test%E3%80%82example.com/x", "https://example.com/x",
	"//evil.test/.example.com", "https:evil.test/.example.com", "https:/\\evil.test/.example.com"}

// TestWildcardReturnHostLookalikesRefused: with allowed_redirect_hosts =
// ["*.example.com"], a sign-out and a sign-in whose rd is a look-alike of
// a host under example.com return to the gateway's own "/", and one on a
// real subdomain (the control) returns there.
func TestWildcardReturnHostLookalikesRefused(t *testing.T) {
	t.Parallel() // its own gateway and provider
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		PublicURL: "https://gw.example.com",
		Server:    `allowed_redirect_hosts = ["*.example.com"]` + "\n",
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  newUpstream(t).URL, Routes: demoRoutes,
	}.String())
	for _, rd := range append(wildcardLookalikes, "https://app.example.com/x") {
		want := "/"
		if rd == "https://app.example.com/x" {
			want = rd
		}
		out := navigate(t, "GET", gw.URL+"/oauth2/sign_out?rd="+url.QueryEscape(rd), "gw.example.com", nil)
		if got := out.Header.Get("Location"); got != want && got != "https://gw.example.com"+want {
			t.Errorf("sign_out?rd=%s: %d to %q, want %q", rd, out.StatusCode, got, want)
		}
		if got, _ := loginReturningTo(t, gw, rd); got != want && !(want == "/" && strings.HasPrefix(got, "https://gw.example.com/")) {
			t.Errorf("sign-in with rd %s returned to %q, want %q", rd, got, want)
		}
	}
}
