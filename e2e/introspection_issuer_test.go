package e2e

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestIntrospectionIssuerHostedDomain drives the gateway binary, kind =
// "google" with hosted_domain = "acme.com", against a test provider whose
// introspection endpoint answers for a Google account of another domain
// (hd other.example). With the provider's issuer (or none) in the answer,
// hosted_domain refuses it; with the provider's issuer spelled with a
// trailing slash, or an unrelated issuer, the answer was taken as that
// issuer's and hosted_domain was skipped: the upstream was reached as the
// other domain's user. Now such an answer is refused (401, upstream not
// reached), and an acme.com account's token with the provider's issuer
// still passes.
func TestIntrospectionIssuerHostedDomain(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "mallory",
		Claims: map[string]any{"email": "mallory@other.example", "email_verified": true, "hd": "other.example"}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "kind = \"google\"\nhosted_domain = \"acme.com\"\n", `
[[routes]]
path = "/**"
`))
	for _, iss := range []string{"-", p.Issuer, p.Issuer + "/", "https://elsewhere.example"} {
		p.SetIntrospectionIssuer(iss)
		tok := p.OpaqueToken("mallory", p.ClientID, "read", time.Now().Add(time.Hour))
		if res := apiCall(t, "GET", gw.URL+"/x", bearer(tok)); res.status != 401 || up.count() != 0 {
			t.Errorf("iss %q: status %d, upstream reached %d times; want 401 and none", iss, res.status, up.count())
		}
	}
	p.SetUser(oidctest.User{Subject: "alice",
		Claims: map[string]any{"email": "alice@acme.com", "email_verified": true, "hd": "acme.com"}})
	p.SetIntrospectionIssuer(p.Issuer)
	tok := p.OpaqueToken("alice", p.ClientID, "read", time.Now().Add(time.Hour))
	if res := apiCall(t, "GET", gw.URL+"/x", bearer(tok)); res.status != 200 || up.count() != 1 {
		t.Errorf("acme.com account: status %d, upstream reached %d times; want 200 once", res.status, up.count())
	}
}
