package e2e

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// forgedNoKid is a JWT access token naming iss and aud, without a kid,
// whose RS256 signature (512 zero bytes, the length of a 4096-bit key's)
// no key makes: the gateway checks it against every RSA key of the issuer.
func forgedNoKid(tb testing.TB, iss, aud string) string {
	tb.Helper()
	now := time.Now()
	claims, err := json.Marshal(map[string]any{"iss": iss, "sub": "mallory", "aud": aud,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"at+jwt"}`)) + "." + enc(claims) + "." + enc(make([]byte, 512))
}

// TestExtraIssuerJWKSWithTooManyKeys: an extra issuer (trusted for bearer
// tokens only) whose JWKS lists 1,300 RSA keys (under the 1 MiB the gateway
// reads) of the costliest kind its JOSE library accepts. Any client's
// forged token naming that issuer was checked against each: four cost the
// real gateway 4 s of CPU, some 1 s each where a check of a genuine token
// costs 0.1 ms. Now a set of more than 64 keys is refused as a failed
// fetch: the forged tokens are 401 at no cost, so are the issuer's own, and
// the provider's tokens still pass.
func TestExtraIssuerJWKSWithTooManyKeys(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{AccessTokenAudience: "portcullis-api"})
	machines := oidctest.New(t, oidctest.Options{AccessTokenAudience: "machines",
		ExtraJWKS: oidctest.JunkRSAKeys(t, 1300, "")})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, withMachines(machines), "[[routes]]\npath = \"/**\"\n"))

	if res := apiCall(t, "GET", gw.URL+"/x", bearer(machines.AccessToken("robot", nil))); res.status != 401 {
		t.Errorf("the issuer's own token: %d, want 401 (its key set is refused)", res.status)
	}
	if !logged(gw, "the JWKS of "+machines.Issuer+": more than 64 signature keys") {
		t.Errorf("the log does not say whose keys are refused and why")
	}
	cpu := procCPU(t, gw.Proc.Cmd.Process.Pid)
	for range 4 {
		if res := apiCall(t, "GET", gw.URL+"/x", bearer(forgedNoKid(t, machines.Issuer, "machines"))); res.status != 401 {
			t.Errorf("a forged token: %d after %v, want 401", res.status, res.took)
		}
	}
	if spent := procCPU(t, gw.Proc.Cmd.Process.Pid) - cpu; spent > 400*time.Millisecond {
		t.Errorf("four forged tokens cost the gateway %v of CPU, want under 400ms", spent)
	}
	if res := apiCall(t, "GET", gw.URL+"/x", bearer(p.AccessToken("alice", nil))); res.status != 200 {
		t.Errorf("the provider's token: %d, want 200", res.status)
	}
	if t.Failed() {
		t.Log(gw.Proc.Output())
	}
}
