package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestClockSkewIsNamed runs the gateway against a provider whose clock is
// 10 minutes ahead, then one 10 minutes behind (the gateway's clock off
// either way): every sign-in fails, and the `proxy: request refused` line
// must let the operator tell a clock apart from an attack: it shows the
// gateway's time beside the token's and names the clocks.
func TestClockSkewIsNamed(t *testing.T) {
	t.Parallel()
	for _, off := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		p := oidctest.New(t, oidctest.Options{Now: func() time.Time { return time.Now().Add(off) }})
		up := newUpstream(t)
		gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
			Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
		if status, _, _ := get(t, browser(t), gw.URL+"/app/home"); status != 502 {
			t.Fatalf("provider clock %v: sign-in %d, want 502", off, status)
		}
		line := logLine(t, gw, `msg="proxy: request refused" code=login_failed`)
		if !strings.Contains(line, "the gateway's clock says ") || !strings.Contains(line, "clocks") {
			t.Errorf("provider clock %v: the refusal does not name the clocks:\n%s", off, line)
		}
	}
}
