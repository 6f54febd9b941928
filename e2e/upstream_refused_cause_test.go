package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestUpstreamRefusedNamesItsAddress: a browser's request carries short
// header values ("Upgrade-Insecure-Requests: 1", "Accept-Language: en"),
// and the redaction of what a failed upstream request carried took each
// out wherever it stood: an upstream that refused the connection was
// logged as "dial tcp [redacted]27.0.0.[redacted]:PORT". The 502's log
// line names the address dialled whole.
func TestUpstreamRefusedNamesItsAddress(t *testing.T) {
	t.Parallel()
	// Nothing listens there: the dial is refused. A port of the kernel's
	// own range, closed again, could be handed to another test's ":0"
	// listener meanwhile; FreePort's is claimed for this test alone.
	addr := testenv.Addr(testenv.FreePort(t))
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: "http://" + addr, Routes: "[[routes]]\npath = \"/public/**\"\npublic = true\n"}.String())
	gw.waitReady(t)
	req, _ := http.NewRequest("GET", gw.URL+"/public/x", nil)
	req.Header.Set("Upgrade-Insecure-Requests", "1")
	req.Header.Set("Accept-Language", "en")
	resp, err := plainClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("a refused upstream: %d, want 502", resp.StatusCode)
	}
	gw.waitOutput(t, "connection refused", 1)
	if out := gw.Proc.Output(); !strings.Contains(out, "dial tcp "+addr+": connect: connection refused") {
		t.Errorf("the log does not name the address dialled (%s):\n%s", addr, out)
	}
}
