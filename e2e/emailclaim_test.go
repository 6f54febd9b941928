package e2e

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestEmailVerifiedVouchesForItsOwnAddress signs in a user whose provider
// verified one address (email) while the claim email_claim names holds
// another the user chose (a username shaped like the CEO's address, as
// Keycloak lets users edit theirs). email_verified is the provider's word
// about the email claim (OpenID Connect Core 5.1), not about the other
// claim: the chosen address must match no allow_emails and never reach
// the upstream as the user's email.
func TestEmailVerifiedVouchesForItsOwnAddress(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "m-1", Claims: map[string]any{
		"email": "mallory@users.example", "email_verified": true, "preferred_username": "ceo@acme.example"}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + "email_claim = \"preferred_username\"\n",
		Upstream: up.URL,
		Routes: `
[[routes]]
path = "/board/**"
allow_emails = ["ceo@acme.example"]

[[routes]]
path = "/**"
allow_email_domains = ["*"]
`,
	}.String())
	c := browser(t)
	if status, _, _ := get(t, c, gw.URL+"/board/minutes"); status != http.StatusForbidden {
		t.Fatalf("allow_emails = [ceo@acme.example] for a user who chose that username: %d, want 403 (X-Forwarded-Email %q)",
			status, up.last().Headers.Get("X-Forwarded-Email"))
	}
	if status, _, _ := get(t, c, gw.URL+"/home"); status != http.StatusForbidden {
		t.Errorf("allow_email_domains = [*] with no address anyone verified: %d, want 403", status)
	}
	if n := up.count(); n != 0 {
		t.Errorf("the upstream got %d requests (X-Forwarded-Email %q), want none", n, up.last().Headers.Get("X-Forwarded-Email"))
	}
}
