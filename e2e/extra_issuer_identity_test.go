package e2e

import (
	"context"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestExtraIssuerTokenIsNotTheProviderUser: a machine token of an extra
// issuer whose sub is a provider user's ("alice") reaches the application
// with the same X-Forwarded-User, as documented, but its verified assertion
// names the issuer that vouched (sub_id), so the application can tell the
// machine from the user. Before, the two assertions carried the same
// claims, the gateway's own iss among them.
func TestExtraIssuerTokenIsNotTheProviderUser(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{AccessTokenAudience: "portcullis-api"})
	machines := oidctest.New(t, oidctest.Options{AccessTokenAudience: "machines"})
	up := newUpstream(t)
	a := pickAddrs(t)
	gw := startGateway(t, a, oidctestConfig(p, up.URL, withMachines(machines), `
[[routes]]
path = "/**"
`))
	ctx := context.Background()
	keys := oidc.NewRemoteKeySet(ctx, gw.URL+"/oauth2/jwks.json")
	v := oidc.NewVerifier("http://"+a.Listen, keys, &oidc.Config{ClientID: a.Listen, SupportedSigningAlgs: []string{"ES256"}})
	subjectID := func(tok string) (user string, iss string) {
		t.Helper()
		if res := apiCall(t, "GET", gw.URL+"/x", bearer(tok)); res.status != 200 {
			t.Fatalf("GET /x: %d %s", res.status, res.body)
		}
		h := up.last().Headers
		idt, err := v.Verify(ctx, h.Get("X-Portcullis-Jwt-Assertion"))
		if err != nil {
			t.Fatalf("the assertion does not verify: %v", err)
		}
		var c struct {
			SubID struct{ Format, Iss, Sub string } `json:"sub_id"`
		}
		if err := idt.Claims(&c); err != nil || c.SubID.Format != "iss_sub" || c.SubID.Sub != "alice" || idt.Subject != "alice" {
			t.Fatalf("assertion sub %q, sub_id %+v, %v", idt.Subject, c.SubID, err)
		}
		return h.Get("X-Forwarded-User"), c.SubID.Iss
	}
	userHeader, userIss := subjectID(p.AccessToken("alice", nil))
	machineHeader, machineIss := subjectID(machines.AccessToken("alice", nil))
	if userHeader != "alice" || machineHeader != "alice" {
		t.Errorf("X-Forwarded-User %q and %q, want alice for both", userHeader, machineHeader)
	}
	if userIss != p.Issuer || machineIss != machines.Issuer {
		t.Errorf("sub_id.iss %q and %q, want %q and %q", userIss, machineIss, p.Issuer, machines.Issuer)
	}
}
