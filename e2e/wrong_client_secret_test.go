package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestWrongClientSecretIsNamed deploys the gateway with a client secret
// the provider does not know: every sign-in ends on the 502 sign-in page,
// counted as exchange_failed, /readyz stays 200 (the gateway cannot know
// before a sign-in), and the `proxy: request refused` line must name what
// to fix, the client's credentials, without quoting them.
func TestWrongClientSecretIsNamed(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	const wrong = "Wr0ng-cl1ent-s3cret-for-the-drill"
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, wrong),
		Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	status, body, _ := get(t, browser(t), gw.URL+"/app/home")
	if status != 502 || !strings.Contains(body, "Sign-in failed") {
		t.Fatalf("sign-in with a wrong client secret: %d\n%s", status, body)
	}
	line := logLine(t, gw, `msg="proxy: request refused" code=login_failed`)
	if !strings.Contains(line, `invalid_client`) || !strings.Contains(line, "provider.client_id and client_secret") {
		t.Errorf("the refusal does not say what to fix:\n%s", line)
	}
	if strings.Contains(settledOutput(t, gw), wrong) {
		t.Errorf("the log quotes the client secret:\n%s", gw.Proc.Output())
	}
	if got := loginSeries(t, gw, `reason="exchange_failed"`); got != 1 {
		t.Errorf("logins failed exchange_failed: %v, want 1", got)
	}
	if s, b := readyz(t, gw); s != 200 {
		t.Errorf("/readyz: %d %s", s, b)
	}
}
