package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/nodeop"
)

// TestSignedUserinfoSignsIn: a client registered with
// userinfo_signed_response_alg gets its userinfo as a signed JWT
// (application/jwt, OpenID Connect Core 5.3.2), which node oidc-provider
// (OpenID-certified) sends whatever the Accept header says. The gateway
// read every userinfo answer as JSON: the sign-in was a 502 "Sign-in
// failed" (and a refresh kept the sign-in's userinfo claims, unread). The
// signed answer is now verified as an ID token is (the
// provider's keys, iss, aud) and its claims are read.
func TestSignedUserinfoSignsIn(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	a := pickAddrs(t)
	op := nodeop.Start(t, nodeop.Options{AccessTokenTTL: 2 * time.Second, Clients: []nodeop.Client{{
		ID: "gw", Secret: "gw-secret", RedirectURIs: []string{"http://" + a.Listen + "/oauth2/callback"},
		UserinfoSignedResponseAlg: "RS256",
	}}})
	gw := startGateway(t, a, tomlConfig{
		Provider: oidcProvider(op.Issuer, "gw", "gw-secret"),
		Session:  "refresh_margin = \"1s\"\n",
		Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	resp := op.Login(t, c, gw.URL+"/oauth2/start?rd=/app/first", "carol")
	resp.Body.Close()
	loggedIn := time.Now()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/app/first" {
		t.Fatalf("sign-in with signed userinfo: %d at %s\n%s", resp.StatusCode, resp.Request.URL, gw.Proc.Output())
	}

	// The access token expires: the refresh reads userinfo again.
	sleepUntil(loggedIn.Add(2300 * time.Millisecond))
	status, body, _ := get(t, c, gw.URL+"/app/second")
	if status != http.StatusOK {
		t.Fatalf("after the refresh: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	h := decodeSeen(t, body).Headers
	if h.Get("X-Forwarded-User") != "carol" || h.Get("X-Forwarded-Email") != "carol@example.com" {
		t.Errorf("after the refresh the app sees user %q email %q, want carol and carol@example.com",
			h.Get("X-Forwarded-User"), h.Get("X-Forwarded-Email"))
	}
	if n := refreshes(t, gw, "succeeded"); n != 1 {
		t.Errorf("%d successful refreshes, want 1", n)
	}
}
