package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
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
	client := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
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

// TestReloadDuringASlowReload: while a reload waits for a new provider's
// discovery, the gateway serves on the old configuration, and the SIGHUPs
// that arrive meanwhile are folded into one reload, run when the slow one
// ends, which applies the file as it is then. Before, each SIGHUP queued a
// reload of its own (and a goroutine), run one after the other.
func TestReloadDuringASlowReload(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	slow, discoveries, release := heldDiscovery(t)
	a := pickAddrs(t)
	// At debug level the gateway logs what it made of each SIGHUP.
	gw := startGateway(t, a, opsConfig(p, up.URL, []string{secret}, "")+"\n[log]\nlevel = \"debug\"\n")
	token := p.AccessToken("alice", nil)
	client := &http.Client{Timeout: 2 * time.Second, Transport: clientTransport}

	hanging := tomlConfig{Provider: oidcProvider(slow, "client", "secret"), Upstream: up.URL,
		Routes: "[[routes]]\npath = \"/**\"\ndeny = true\n"}.String()
	gw.rewrite(t, a, hanging)
	gw.signal(t, syscall.SIGHUP)
	for deadline := time.Now().Add(30 * time.Second); discoveries.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the reload never asked the new provider; output:\n%s", gw.Proc.Output())
		}
	}
	if status, err := apiGet(client, gw.URL+"/admin/x", token); status != 200 {
		t.Errorf("during the slow reload GET /admin/x = %d %v, want 200 from the old configuration", status, err)
	}
	hangupsHandled(t, gw, 8, 1) // the slow reload's own SIGHUP is the first
	gw.rewrite(t, a, opsConfig(p, up.URL, []string{secret}, "deny = true"))
	release()
	gw.waitOutput(t, "the new provider's discovery failed", 1)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	// Every SIGHUP was handled: no reload but the two started can come.
	out := gw.Proc.Output()
	const started, folded = `msg="SIGHUP: a reload will read the file"`, `msg="SIGHUP: folded into the reload that waits"`
	if n, f := strings.Count(out, started), strings.Count(out, folded); n != 2 || f != 7 {
		t.Errorf("%d reloads started and %d SIGHUPs folded, want 2 (the slow one and one after it) and 7:\n%s", n, f, out)
	}
	if n := strings.Count(out, `msg="config reloaded"`); n != 1 {
		t.Errorf("%d reloads applied after the slow one, want the SIGHUPs during it folded into 1:\n%s", n, out)
	}
	if n := discoveries.Load(); n != 1 {
		t.Errorf("the slow provider was asked %d times, want 1", n)
	}
	if status, err := apiGet(client, gw.URL+"/admin/x", token); status != 403 {
		t.Errorf("after the reloads GET /admin/x = %d %v, want 403 from the last file", status, err)
	}
	if v := metricValue(t, gw, "portcullis_config_last_reload_successful"); v != 1 {
		t.Errorf("config_last_reload_successful = %v, want 1", v)
	}
}

// heldDiscovery is a provider whose discovery document is held until
// release is called (or the test ends), then answered 404; discoveries
// counts the requests for it.
func heldDiscovery(t *testing.T) (url string, discoveries *atomic.Int32, release func()) {
	t.Helper()
	discoveries = new(atomic.Int32)
	held := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		discoveries.Add(1)
		select {
		case <-held:
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(slow.Close)
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	t.Cleanup(release)
	return slow.URL, discoveries, release
}

// hangupsHandled sends n SIGHUPs to gw (logging at debug level), each
// once the gateway has logged what it made of the one before; before is
// the number of SIGHUPs it logged already. A SIGHUP reaches the gateway's
// loop some time after kill(2) returns: one still on its way when a
// reload the test awaits has begun starts a reload of its own, rightly,
// and two sent together may be merged into one by the kernel.
func hangupsHandled(t *testing.T, gw *gateway, n, before int) {
	t.Helper()
	for i := range n {
		gw.signal(t, syscall.SIGHUP)
		gw.waitOutput(t, `msg="SIGHUP: `, before+i+1)
	}
}

// TestReloadDuringSignIn: a reload lands between a user's sign-in at the
// provider and the browser's arrival at the callback. A changed provider,
// secrets or cookie name, or a changed public_url (and so redirect URI),
// ends that sign-in on the page of an expired sign-in, a 400 with a link to
// try again, never a 5xx; the next sign-in works. Before, a changed
// public_url sent the code to the provider with the new redirect URI, which
// the provider refused: a 502 and a warning that blamed the provider.
func TestReloadDuringSignIn(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p, p2 := oidctest.New(t, oidctest.Options{}), oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	base := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Routes: "[[routes]]\npath = \"/**\"\n"}
	gw := startGateway(t, a, base.String())
	for i, change := range []struct {
		name string
		edit func(c *tomlConfig)
	}{
		{"public_url", func(c *tomlConfig) { c.PublicURL = "http://localhost:" + a.Listen[strings.LastIndex(a.Listen, ":")+1:] }},
		{"provider", func(c *tomlConfig) { c.Provider = oidcProvider(p2.Issuer, p2.ClientID, p2.ClientSecret) }},
		{"secrets", func(c *tomlConfig) { c.Secrets = []string{secret2} }},
		{"cookie name", func(c *tomlConfig) { c.Session = "cookie_name = \"other\"\n" }},
	} {
		t.Run(change.name, func(t *testing.T) {
			gw.rewrite(t, a, base.String())
			gw.signal(t, syscall.SIGHUP)
			gw.waitOutput(t, `msg="config reloaded"`, 2*i+1)
			c := browser(t)
			callback := pausedLogin(t, c, gw, "/app/home")
			cfg := base
			change.edit(&cfg)
			gw.rewrite(t, a, cfg.String())
			gw.signal(t, syscall.SIGHUP)
			gw.waitOutput(t, `msg="config reloaded"`, 2*i+2)
			status, body, _ := get(t, c, callback)
			if status != http.StatusBadRequest || !strings.Contains(body, "Sign-in failed") || !strings.Contains(body, "Try again") {
				t.Errorf("the callback of a sign-in begun before the reload: %d\n%s", status, body)
			}
			if status, body, _ := get(t, browser(t), gw.URL+"/app"); status != 200 {
				t.Errorf("a sign-in after the reload: %d\n%s", status, body)
			}
		})
	}
	if out := settledOutput(t, gw); strings.Contains(out, "status=5") || strings.Contains(out, "invalid_grant") {
		t.Errorf("a sign-in interrupted by a reload failed at the provider or with a 5xx:\n%s", out)
	}
}
