package e2e

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestReloadReleasesTheOldGeneration reloads the binary 20 times, each
// time with another provider and rules, and sends a request upstream
// through each generation: once the drain time (shutdown_timeout and a
// second) has passed, the goroutines and open files on /metrics are back
// where they were. Before, each replaced generation's upstream transport
// kept its idle connections for 90 s: two goroutines and a file each, per
// reload.
func TestReloadReleasesTheOldGeneration(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	providers := []*oidctest.Provider{oidctest.New(t, oidctest.Options{}), oidctest.New(t, oidctest.Options{})}
	a := pickAddrs(t)
	cfg := func(i int) string {
		p := providers[i%2]
		return tomlConfig{Server: "shutdown_timeout = \"1s\"\n", Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
			Upstream: up.URL, Routes: fmt.Sprintf("[[routes]]\npath = \"/public/**\"\npublic = true\n\n"+
				"[[routes]]\npath = \"/g%d/**\"\nallow_groups = [\"g%d\"]\n\n[[routes]]\npath = \"/**\"\n", i, i)}.String()
	}
	gw := startGateway(t, a, cfg(0))
	client := &http.Client{Timeout: 5 * time.Second}
	through := func() {
		t.Helper()
		if status, err := apiGet(client, gw.URL+"/public/x", ""); status != 200 {
			t.Fatalf("GET /public/x = %d %v", status, err)
		}
	}
	through()
	goroutines, fds := metricValue(t, gw, "go_goroutines"), metricValue(t, gw, "process_open_fds")
	const reloads = 20
	for i := 1; i <= reloads; i++ {
		gw.rewrite(t, a, cfg(i))
		gw.signal(t, syscall.SIGHUP)
		gw.waitOutput(t, `msg="config reloaded"`, i)
		through()
	}
	// The drain time of the last generation replaced, then a margin.
	deadline := time.Now().Add(10 * time.Second)
	time.Sleep(2 * time.Second)
	for {
		g, f := metricValue(t, gw, "go_goroutines"), metricValue(t, gw, "process_open_fds")
		if g <= goroutines+4 && f <= fds+2 {
			t.Logf("after %d reloads: goroutines %v → %v, open fds %v → %v", reloads, goroutines, g, fds, f)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d reloads and their drain: goroutines %v → %v, open fds %v → %v", reloads, goroutines, g, fds, f)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
