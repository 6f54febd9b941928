package config

import (
	"strings"
	"testing"
)

// TestOpenExtraIssuerWarningSeesItsOwnAudience: a route whose
// require_claims name only an extra issuer's own audience (or its iss)
// binds nothing for that issuer: every token it signs names them, and to
// the rules its aud holds its own audiences only. Such a route passed any
// GitHub repository's workflow token for "portcullis" without a warning,
// as if require_claims said who may pass. It is now warned about, naming
// the issuers it is open to; the provider's audience binds (an extra
// issuer's token never holds it), and so does another claim.
func TestOpenExtraIssuerWarningSeesItsOwnAudience(t *testing.T) {
	const gha, k8s = "https://token.actions.githubusercontent.com", "https://kubernetes.default.svc"
	const warn = `any token that provider.extra_issuers[0] ("` + gha + `") signs for its audiences can reach this route`
	for _, tc := range []struct{ claims, want string }{
		{`{ aud = "portcullis" }`, warn},
		{`{ iss = "` + gha + `" }`, warn},
		{`{ iss = "` + gha + `", aud = "portcullis" }`, warn},
		{`{ aud = "billing-api" }`, ""},
		{`{ aud = "machines" }`, `provider.extra_issuers[1] ("` + k8s + `") signs`},
		{`{ aud = "portcullis", repository_owner = "acme" }`, ""},
		{`{ iss = "https://login.acme.com" }`, ""},
	} {
		doc := strings.Replace(provider(`issuer = "https://login.acme.com"`+"\nclient_id = \"c\"\naudiences = [\"c\", \"billing-api\"]"),
			"[[routes]]\npath = \"/**\"\n", `
[[provider.extra_issuers]]
issuer = "`+gha+`"
audiences = ["portcullis"]

[[provider.extra_issuers]]
issuer = "`+k8s+`"
audiences = ["machines"]

[[routes]]
path = "/**"
require_claims = `+tc.claims+"\n", 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		wantOneWarning(t, tc.claims, cfg, "signs for its audiences", tc.want)
	}
}
