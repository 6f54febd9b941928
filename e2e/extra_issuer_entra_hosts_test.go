package e2e

import (
	"testing"
)

// TestExtraIssuerEntraNationalV1Issuer: Entra's rules for its tokens bound
// an extra issuer only in the global cloud's two shapes (TENANT/v2.0 on a
// login host, TENANT/ on sts.windows.net). A national cloud's v1.0 issuer,
// the US Government's https://login.microsoftonline.us/TENANT/ or China's
// https://sts.chinacloudapi.cn/TENANT/, the one an API that keeps Entra's
// default v1.0 tokens receives, escaped them: its ID tokens (no appid) and
// its app-only tokens that grant nothing passed for access tokens (200).
// Every issuer on Entra's hosts now keeps them: 401, while a token with an
// app role still passes.
func TestExtraIssuerEntraNationalV1Issuer(t *testing.T) {
	t.Parallel()
	const tenant = "5d3e2f10-8c4b-4a7e-9f21-0c6b7a9e4d11"
	for _, iss := range []string{"https://login.microsoftonline.us/" + tenant + "/",
		"https://sts.chinacloudapi.cn/" + tenant + "/"} {
		t.Run(iss, func(t *testing.T) { testEntraNationalV1Issuer(t, iss, tenant) })
	}
}

func testEntraNationalV1Issuer(t *testing.T, iss, tenant string) {
	const app = "api://jobs" // a v1.0 token's aud: the API's application ID URI
	_, gw, token := entraExtraIssuer(t, iss, app, tenant, "1.0")
	for _, c := range []struct {
		name string
		tok  string
		want int
	}{
		{"an app role granted", token(map[string]any{"sub": "svc", "appid": "9b3f3d7e-0000-4000-8000-00000000c11e",
			"roles": []string{"Jobs.Run"}}), 200},
		{"an ID token", token(map[string]any{"sub": "bob", "unique_name": "bob@partner.example"}), 401},
		{"an app-only token that grants nothing", token(map[string]any{"sub": "any-app",
			"appid": "0b7a11e5-0000-4000-8000-0000000a11e5"}), 401},
	} {
		if res := apiCall(t, "GET", gw.URL+"/api", bearer(c.tok)); res.status != c.want {
			t.Errorf("%s: %d, want %d", c.name, res.status, c.want)
		}
	}
}
