package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestExtraIssuerAudienceIsItsOwn: a route bound to the provider's API by
// its audience (require_claims = { aud = "billing-api" }, as
// provider.audiences advises) admitted an extra issuer's token that named
// that audience next to one of its own: a Kubernetes service-account token
// any namespace editor mints with two audiences (kubectl create token
// --audience machines --audience billing-api), or a GitLab CI token, whose
// aud a project lists. The extra issuer is trusted for "machines" only,
// so to the rules its token is for "machines" only: refused (403) there,
// while the provider's token for billing-api passes.
func TestExtraIssuerAudienceIsItsOwn(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{AccessTokenAudience: "portcullis-api"})
	machines := oidctest.New(t, oidctest.Options{AccessTokenAudience: "machines"})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, `
audiences = ["portcullis-api", "billing-api"]

[[provider.extra_issuers]]
issuer = "`+machines.Issuer+`"
audiences = ["machines"]
`, `
[[routes]]
path = "/billing/**"
require_claims = { aud = "billing-api" }

[[routes]]
path = "/jobs/**"
require_claims = { aud = "machines" }
`))
	both := map[string]any{"aud": []string{"machines", "billing-api"}}
	for _, c := range []struct {
		name, path, tok string
		want            int
	}{
		{"the provider's billing token", "/billing/invoices", p.AccessToken("alice", map[string]any{"aud": "billing-api"}), 200},
		{"a machine token naming billing-api too", "/billing/invoices", machines.AccessToken("ns:editor", both), 403},
		{"a machine token naming billing-api too, at its own route", "/jobs/run", machines.AccessToken("ns:editor", both), 200},
		{"a machine token", "/jobs/run", machines.AccessToken("ns:editor", nil), 200},
	} {
		if res := apiCall(t, "GET", gw.URL+c.path, bearer(c.tok)); res.status != c.want {
			t.Errorf("%s: GET %s: %d, want %d", c.name, c.path, res.status, c.want)
		}
	}
}
