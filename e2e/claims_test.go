package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestClaimsFromCachedSession: a cookie session's claims decide
// require_claims and fill claim headers on every request, the first (a
// session just opened) and the later ones (served from the opened-session
// cache, which keeps only the claims those rules and headers read): a
// dotted path into a nested claim, a key that holds dots, and a claim
// nothing reads.
func TestClaimsFromCachedSession(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "hd": "example.com",
		"org":                       map[string]any{"id": "42", "name": "Acme"},
		"https://example.com/roles": []any{"admin", "staff"},
	}})
	a := pickAddrs(t)
	gw := startGateway(t, a, tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Extra: "[headers.claims]\n\"X-Org-Id\" = \"org.id\"\n",
		Routes: `
[[routes]]
path = "/roles/**"
require_claims = { "https://example.com/roles" = "admin" }

[[routes]]
path = "/other-org/**"
require_claims = { "org.name" = "Other" }

[[routes]]
path = "/**"
`}.String())
	c := browser(t)
	for i := range 3 {
		if status, body, _ := get(t, c, gw.URL+"/app"); status != 200 {
			t.Fatalf("request %d to /app: %d %s", i, status, body)
		}
		if got := up.last().Headers.Get("X-Org-Id"); got != "42" {
			t.Errorf("request %d: X-Org-Id = %q, want 42", i, got)
		}
		if status, body, _ := get(t, c, gw.URL+"/roles/x"); status != 200 {
			t.Errorf("request %d to /roles/x (the roles claim holds admin): %d %s", i, status, body)
		}
		if status, _, _ := get(t, c, gw.URL+"/other-org/x"); status != 403 {
			t.Errorf("request %d to /other-org/x (org.name is Acme): %d, want 403", i, status)
		}
	}
}
