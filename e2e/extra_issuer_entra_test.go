package e2e

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestExtraIssuerEntraTenantTokenRules: an Entra ID tenant trusted as an
// extra issuer (a partner's, or the company's own next to a Keycloak that
// signs employees in) issues the same tokens as one that is the provider,
// yet Entra's rules for them bound only the provider's tenant. Its ID
// token from the token endpoint (aud the client ID, the audience Entra's
// v2.0 access tokens for the app carry too; no nonce, at_hash or azp)
// passed for an access token, and so did an app-only token that grants
// nothing, which Entra ID issues for the API to any application with a
// service principal in that tenant (another publisher's too). Both are
// now refused (401) as the provider's tenant's are; a token the tenant
// granted an app role still passes. Entra ID cannot run in a test: the
// tokens are signed by a provider standing in for its issuer, whose keys
// the extra issuer's jwks_url names.
func TestExtraIssuerEntraTenantTokenRules(t *testing.T) {
	t.Parallel()
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	const app = "6e74172b-be56-4843-9ff4-e66a39bb12e3" // the API's client ID, its v2.0 tokens' aud
	iss := "https://login.microsoftonline.com/" + tenant + "/v2.0"
	p, gw, token := entraExtraIssuer(t, iss, app, tenant, "2.0")
	cases := []struct {
		name string
		tok  string
		want int
	}{
		{"an app role granted", token(map[string]any{"sub": "svc", "azp": "9b3f3d7e-0000-4000-8000-00000000c11e",
			"roles": []string{"Jobs.Run"}, "idtyp": "app"}), 200},
		{"an ID token from the token endpoint", token(map[string]any{"sub": "bob-pairwise",
			"name": "Bob", "preferred_username": "bob@partner.example", "email": "bob@partner.example"}), 401},
		{"an app-only token that grants nothing", token(map[string]any{"sub": "any-app",
			"azp": "0b7a11e5-0000-4000-8000-0000000a11e5", "idtyp": "app"}), 401},
	}
	for _, c := range cases {
		res := apiCall(t, "GET", gw.URL+"/api", bearer(c.tok))
		if res.status != c.want {
			t.Errorf("%s: %d, want %d", c.name, res.status, c.want)
		}
	}
	if res := apiCall(t, "GET", gw.URL+"/api", bearer(p.AccessToken("alice", nil))); res.status != 403 {
		// The provider's user is no token of the tenant: refused by the
		// route, not by the rules of another issuer's tokens.
		t.Errorf("the provider's token: %d %s, want 403", res.status, res.body)
	}
}

// entraExtraIssuer starts a gateway whose provider is p and whose extra
// issuer iss (an Entra tenant's, with keys of a provider standing in for
// it) accepts tokens for app, on one route that requires tenant's tid. token
// signs a token of version ver of that issuer with extra claims.
func entraExtraIssuer(t *testing.T, iss, app, tenant, ver string) (p *oidctest.Provider, gw *gateway,
	token func(extra map[string]any) string) {
	p = oidctest.New(t, oidctest.Options{})
	entra := oidctest.New(t, oidctest.Options{Issuer: iss})
	gw = startGateway(t, pickAddrs(t), oidctestConfig(p, newUpstream(t).URL, `
[[provider.extra_issuers]]
issuer = "`+iss+`"
audiences = ["`+app+`"]
jwks_url = "`+entra.Server.URL+`/jwks"
`, `
[[routes]]
path = "/**"
require_claims = { tid = "`+tenant+`" }
`))
	now := time.Now()
	return p, gw, func(extra map[string]any) string {
		c := map[string]any{"iss": iss, "aud": app, "tid": tenant, "ver": ver, "iat": now.Unix(),
			"nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "oid": "00000000-0000-0000-0000-0000000b0b00"}
		for k, v := range extra {
			c[k] = v
		}
		return entra.Sign(c, oidctest.SignOptions{Typ: "JWT"})
	}
}
