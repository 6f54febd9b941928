package e2e

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/nodeop"
)

// TestPlainOAuth2CallbackWithIss: a provider set up as plain OAuth 2.0
// (kind = "oauth2": authorization_url, token_url and userinfo_url, no
// issuer and no discovery) that sends RFC 9207's iss in its authorization
// response, as node oidc-provider (OpenID-certified) does for every one.
// The callback compared iss with the configured issuer, which plain OAuth
// 2.0 has none of: every sign-in was a 400 "The sign-in response comes from
// another issuer." With no issuer to compare with (a single authorization
// server, no discovery) the iss is not the gateway's to check; a repeated
// one is still refused.
func TestPlainOAuth2CallbackWithIss(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	a := pickAddrs(t)
	op := nodeop.Start(t, nodeop.Options{Clients: []nodeop.Client{{
		ID: "gw", Secret: "gw-secret", RedirectURIs: []string{"http://" + a.Listen + "/oauth2/callback"},
	}}})
	provider := `kind = "oauth2"
client_id = "gw"
client_secret = "gw-secret"
scopes = ["openid", "email"]
authorization_url = "` + op.Issuer + `/auth"
token_url = "` + op.Issuer + `/token"
userinfo_url = "` + op.Issuer + `/me"
`
	gw := startGateway(t, a, tomlConfig{Provider: provider, Upstream: up.URL,
		Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	resp := op.Login(t, c, gw.URL+"/oauth2/start?rd=/app/first", "carol")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/app/first" {
		t.Fatalf("plain OAuth 2.0 sign-in: %d at %s\n%s", resp.StatusCode, resp.Request.URL, gw.Proc.Output())
	}
	if got := up.last().Headers.Get("X-Forwarded-User"); got != "carol" {
		t.Errorf("the app sees user %q, want carol", got)
	}
}
