package e2e

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRefusalNamesWhatTheProviderNeverSent: a provider set up as operators
// often leave it (Keycloak or Okta without a groups mapper, Entra ID
// without email_verified, a require_claims path it never sends) passes
// check and then refuses every user. The 403 page and the log line say the
// identity has no groups at all, that the provider sent no
// email_verified, that the claim is missing, not that the user is in other
// groups, has an unverified address or another value.
func TestRefusalNamesWhatTheProviderNeverSent(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "bob",
		Claims: map[string]any{"email": "bob@example.org"}}})
	routes := demoRoutes + `
[[routes]]
path = "/mail/**"
allow_email_domains = ["example.org"]

[[routes]]
path = "/tier/**"
require_claims = { "realm_access.roles" = "gold" }

[[routes]]
path = "/**"
`
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: newUpstream(t).URL, Routes: routes}.String())
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	for path, reason := range map[string]string{
		"/admin/panel": "not in any of groups: admins (the identity has no groups at all)",
		"/mail/inbox":  "email not verified (the provider sent no email_verified claim)",
		"/tier/x":      "claim realm_access.roles is missing (the identity has no such claim)",
	} {
		status, body, _ := get(t, c, gw.URL+path)
		if status != 403 || !strings.Contains(html.UnescapeString(body), reason) {
			t.Errorf("%s: %d, want 403 saying %q; page:\n%s", path, status, reason, body)
		}
		wantLines(t, gw, `path=`+path+` `, `reason="`+reason+`"`)
	}
}

// TestSignInNamesAMissingUserClaim: user_claim naming a claim the provider
// does not send (employee_id, oid under another provider, a custom claim
// without its mapper) failed every sign-in with "could not be completed
// with the identity provider", a 502 as for an outage, counted as
// exchange_failed; the page now says that the provider's answer lacks the
// claim users are named by, and the count and the log line say which.
func TestSignInNamesAMissingUserClaim(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "bob",
		Claims: map[string]any{"email": "bob@example.org"}}})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + "user_claim = \"employee_id\"\n",
		Upstream: newUpstream(t).URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	status, body, _ := get(t, browser(t), gw.URL+"/hello")
	const want = "the identity provider sent no claim to name you by"
	if status != 502 || !strings.Contains(html.UnescapeString(body), want) {
		t.Errorf("sign-in: %d, want 502 saying %q; page:\n%s", status, want, body)
	}
	wantLines(t, gw, `err="idp: the provider sent no user_claim: \"employee_id\"`)
	if m := opsMetrics(t, gw); !strings.Contains(m, `reason="user_claim"`) {
		t.Errorf("metrics lack logins_total{reason=\"user_claim\"}:\n%s", m)
	}
}

// TestOpaqueBearerWithoutIntrospectionIsNamed: a provider whose access
// tokens are opaque (Auth0 without an API audience, GitHub, a plain OAuth
// 2.0 server) and that offers no introspection endpoint cannot vouch for a
// bearer token, so every API client is refused on routes that expect JWT
// scopes; the refusal line says why, not only "invalid token".
func TestOpaqueBearerWithoutIntrospectionIsNamed(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{NoIntrospection: true})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: newUpstream(t).URL, Routes: "[[routes]]\npath = \"/api/**\"\nrequire_scopes = [\"api:read\"]\n"}.String())
	tok := p.OpaqueToken("svc", "", "api:read", time.Now().Add(time.Hour))
	if r := apiCall(t, "GET", gw.URL+"/api/x", bearer(tok)); r.status != 401 || r.challenge != invalidTokenChallenge {
		t.Fatalf("opaque token: %d %q, want 401 %q", r.status, r.challenge, invalidTokenChallenge)
	}
	wantLines(t, gw, `opaque token and no introspection endpoint`)
	if strings.Contains(settledOutput(t, gw), tok) {
		t.Errorf("the log holds the token")
	}
}

// TestRefusalOfAnEntraAddressWithXmsEdov: Entra ID with its optional claim
// xms_edov (true: the address's domain owner was verified) still sends no
// email_verified, so without assume_email_verified an email rule refuses
// every user; the refusal said "email not verified", as if Microsoft had
// said the address is not, where the guide and the table of usual
// mistakes promise "the provider sent no email_verified claim".
func TestRefusalOfAnEntraAddressWithXmsEdov(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "bob",
		Claims: map[string]any{"email": "bob@example.org", "xms_edov": true}}})
	routes := "[[routes]]\npath = \"/mail/**\"\nallow_email_domains = [\"example.org\"]\n\n[[routes]]\npath = \"/**\"\n"
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: newUpstream(t).URL, Routes: routes}.String())
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	const reason = "email not verified (the provider sent no email_verified claim)"
	for range 2 { // the second request is served from the opened-session cache
		status, body, _ := get(t, c, gw.URL+"/mail/inbox")
		if status != 403 || !strings.Contains(html.UnescapeString(body), reason) {
			t.Fatalf("/mail/inbox: %d, want 403 saying %q; page:\n%s", status, reason, body)
		}
	}
	wantLines(t, gw, `path=/mail/inbox `, `reason="`+reason+`"`)
}
