package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestProviderDownMidRun stops the provider while the gateway runs, as
// docs/operations.md (what to alert on) describes it: a signed-in user and
// a bearer token verified with the keys the gateway holds are still
// served, /readyz stays 200, and a new sign-in still leaves for the
// provider, counted as started, never as failed: only succeeded falling
// against started shows the outage.
func TestProviderDownMidRun(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + "audiences = [\"api\"]\n",
		Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	tok := p.AccessToken("bob", map[string]any{"aud": "api"})
	p.Server.Close()

	if status, body, _ := withCookie(t, "GET", gw.URL+"/signed-in", ck, false); status != 200 {
		t.Errorf("signed in, provider down: %d\n%s", status, body)
	}
	if status, err := apiGet(plainClient, gw.URL+"/bearer", tok); status != 200 {
		t.Errorf("bearer token, provider down: %d %v", status, err)
	}
	started := loginSeries(t, gw, `result="started"`)
	status, _, hdr := withCookie(t, "GET", gw.URL+"/new", nil, true)
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), p.Issuer+"/authorize?") {
		t.Errorf("new sign-in, provider down: %d to %q", status, hdr.Get("Location"))
	}
	if s, body := readyz(t, gw); s != 200 {
		t.Errorf("/readyz, provider down mid-run: %d %s", s, body)
	}
	if got := loginSeries(t, gw, `result="started"`); got != started+1 {
		t.Errorf("logins started %v -> %v, want one more", started, got)
	}
	if got := loginSeries(t, gw, `result="failed"`); got != 0 {
		t.Errorf("logins failed: %v, want 0", got)
	}
}

// loginSeries sums the portcullis_logins_total series whose labels hold sel.
func loginSeries(tb testing.TB, gw *gateway, sel string) float64 {
	tb.Helper()
	return sumSeries(tb, gw, "portcullis_logins_total{", sel)
}
