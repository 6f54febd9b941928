package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// A second fixed session secret, for rotation.
const secret2 = "q83vEjRWeJq83vBjVhBq7X7D5y0Jf1o4ZkqR8b2mTnE="

// opsConfig is a gateway in front of upstreamURL with the oidctest provider
// p; admin is the rule of the /admin/** route ("" = any identity).
func opsConfig(p *oidctest.Provider, upstreamURL string, secrets []string, admin string) string {
	return tomlConfig{
		Server:   "shutdown_timeout = \"10s\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Secrets:  secrets,
		Upstream: upstreamURL,
		Routes: `
[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/denied/**"
deny = true

[[routes]]
path = "/admin/**"
` + admin + `

[[routes]]
path = "/**"
`}.String()
}

// configPath is the file startGateway wrote for gw.
func (g *gateway) configPath() string { return g.Proc.Cmd.Args[len(g.Proc.Cmd.Args)-1] }

// rewrite replaces gw's configuration file (placeholders filled from a).
func (g *gateway) rewrite(tb testing.TB, a addrs, cfg string) {
	tb.Helper()
	cfg = strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).Replace(cfg)
	if err := os.WriteFile(g.configPath(), []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// signal sends sig to the gateway process.
func (g *gateway) signal(tb testing.TB, sig syscall.Signal) {
	tb.Helper()
	if err := g.Proc.Cmd.Process.Signal(sig); err != nil {
		tb.Fatal(err)
	}
}

// waitOutput waits until the process output holds n occurrences of s,
// each in a complete line.
func (g *gateway) waitOutput(tb testing.TB, s string, n int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(g.completeOutput(), s) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for %d× %q; output:\n%s", n, s, g.Proc.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// completeOutput is the process output up to its last newline: the output
// is read through a pipe in pieces, and a line whose beginning has come
// (a message) may still lack its end (the error it names).
func (g *gateway) completeOutput() string {
	out := g.Proc.Output()
	return out[:strings.LastIndexByte(out, '\n')+1]
}

// waitExit waits up to within for the gateway process to exit and returns
// its exit error (nil: status 0).
func (g *gateway) waitExit(tb testing.TB, within time.Duration) error {
	tb.Helper()
	select {
	case <-g.Proc.Exited():
		return g.Proc.ExitErr()
	case <-time.After(within):
		tb.Fatalf("the gateway did not exit within %v; output:\n%s", within, g.Proc.Output())
		return nil
	}
}

// apiGet is a non-browser GET with an optional bearer token.
func apiGet(c *http.Client, url, bearer string) (int, error) {
	req, _ := http.NewRequest("GET", url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestShutdownDrains sends SIGTERM while a slow request is in flight: the
// request completes, /readyz answers 503 meanwhile, new connections are
// refused after the drain and the process exits 0.
func TestShutdownDrains(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	slow := newUpstreamFunc(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		time.Sleep(2 * time.Second)
		io.WriteString(w, "slow done")
	})
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, opsConfig(p, slow.URL, []string{secret}, ""))

	res := getInBackground(gw.URL+"/slow", p.AccessToken("alice", nil))
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatalf("the slow request never reached the upstream; output:\n%s", gw.Proc.Output())
	}
	gw.signal(t, syscall.SIGTERM)

	// shutdown_delay is its default, 5 s: /readyz must say 503 within it (polled
	// up to 4 s, since a loaded machine may act on the signal late).
	sawNotReady := false
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); {
		resp, err := plainClient.Get(gw.OpsURL + "/readyz")
		if err != nil {
			break
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			sawNotReady = true
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawNotReady {
		t.Error("/readyz never answered 503 during the drain")
	}
	r := <-res
	if r.err != nil || r.status != 200 || r.body != "slow done" {
		t.Errorf("in-flight request: %d %q %v", r.status, r.body, r.err)
	}
	if err := gw.waitExit(t, 10*time.Second); err != nil {
		t.Errorf("exit: %v; output:\n%s", err, gw.Proc.Output())
	}
	if c, err := net.DialTimeout("tcp", a.Listen, time.Second); err == nil {
		c.Close()
		t.Error("the gateway port still accepts connections after exit")
	}
}

// newUpstreamFunc is an httptest upstream running h.
func newUpstreamFunc(tb testing.TB, h http.HandlerFunc) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(h)
	tb.Cleanup(u.Close)
	return u
}

// TestMetricsScrape drives a login, an allowed, a denied and an
// unauthenticated request through the binary, checks the counters on
// /metrics and lints the scrape with promtool.
func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	promtool := testenv.LookPath(t, "promtool")
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, opsConfig(p, up.URL, []string{secret}, "allow_groups = [\"nobody\"]"))
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/app"); status != 200 { // login, then allowed
		t.Fatalf("login: %d %s", status, body)
	}
	if status, _ := apiGet(c, gw.URL+"/app/again", ""); status != 200 {
		t.Errorf("allowed: %d", status)
	}
	if status, _ := apiGet(c, gw.URL+"/admin/x", ""); status != 403 {
		t.Errorf("denied: %d", status)
	}
	if status, _ := apiGet(plainClient, gw.URL+"/app", ""); status != 401 {
		t.Errorf("unauthenticated: %d", status)
	}
	resp, err := plainClient.Get(gw.OpsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	for _, tt := range []struct {
		name, series string
		want         int
	}{
		{"login redirect", `portcullis_requests_total{method_class="read",outcome="login_redirect",route="3"}`, 1},
		{"allowed", `portcullis_requests_total{method_class="read",outcome="allowed",route="3"}`, 2},
		{"denied", `portcullis_requests_total{method_class="read",outcome="denied",route="2"}`, 1},
		{"unauthenticated", `portcullis_requests_total{method_class="read",outcome="unauthenticated",route="3"}`, 1},
		{"login started", `portcullis_logins_total{reason="",result="started"}`, 1},
		{"login succeeded", `portcullis_logins_total{reason="",result="succeeded"}`, 1},
	} {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(tt.series) + ` (\S+)$`)
		m := re.FindSubmatch(scrape)
		if m == nil || string(m[1]) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %s = %s, want %d", tt.name, tt.series, m, tt.want)
		}
	}
	if !regexp.MustCompile(`(?m)^portcullis_build_info\{commit="[^"]*",goversion="go[^"]+",version="[^"]*"\} 1$`).Match(scrape) {
		t.Error("no portcullis_build_info series with value 1")
	}
	for _, name := range []string{"portcullis_request_duration_seconds_bucket", "portcullis_upstream_duration_seconds_bucket",
		"portcullis_provider_request_duration_seconds_bucket", "portcullis_session_store_duration_seconds_bucket"} {
		if !bytes.Contains(scrape, []byte(name+"{")) {
			t.Errorf("no %s series", name)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	} else if len(out) > 0 {
		t.Logf("promtool check metrics:\n%s", out)
	}
}

// TestReloadUnderLoad reloads the configuration with SIGHUP while clients
// keep sending requests: a changed rule takes effect with no failed request,
// an invalid file changes nothing and logs each problem with its line, and
// rotated secrets [new, old] keep an existing session valid.
func TestReloadUnderLoad(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, opsConfig(p, up.URL, []string{secret}, ""))
	session := browser(t)
	if status, body, _ := get(t, session, gw.URL+"/app"); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	token := p.AccessToken("alice", nil)

	client := &http.Client{Timeout: 10 * time.Second, Transport: clientTransport}
	// /app is allowed by every configuration of this test; /admin may turn
	// 403 but must never fail.
	load := startSteadyLoad(t, 4, func(_, n int) string {
		path := []string{"/app/x", "/admin/x"}[n%2]
		status, err := apiGet(client, gw.URL+path, token)
		if err != nil || status >= 500 || (path == "/app/x" && status != 200) {
			return fmt.Sprintf("%s: %d %v", path, status, err)
		}
		return ""
	})
	defer func() {
		sent, failures := load.finish()
		if len(failures) != 0 {
			t.Errorf("%d of %d requests failed during reloads: %q", len(failures), sent, failures[:min(len(failures), 5)])
		}
		t.Logf("%d requests during the reloads", sent)
	}()
	requests := func(n int64) {
		t.Helper()
		load.requests(t, n, 30*time.Second)
	}
	requests(20)

	// A valid change: /admin/** becomes deny.
	gw.rewrite(t, a, opsConfig(p, up.URL, []string{secret}, "deny = true"))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	if status, _ := apiGet(client, gw.URL+"/admin/x", token); status != 403 {
		t.Errorf("after reload /admin/x = %d, want 403", status)
	}
	requests(20)

	// An invalid file: each problem logged with its line, nothing changes.
	bad := opsConfig(p, up.URL, []string{secret}, "deny = true\nallow_groupz = [\"x\"]") + "\n[log]\nlevel = \"loud\"\n"
	gw.rewrite(t, a, bad)
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, "config reload rejected", 1)
	out := gw.Proc.Output()
	for _, want := range []string{
		fmt.Sprintf("%s:%d: routes[2].allow_groupz: unknown key", gw.configPath(), lineOf(bad, "allow_groupz")),
		fmt.Sprintf("%s:%d: log.level:", gw.configPath(), lineOf(bad, "level =")),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
	if status, _ := apiGet(client, gw.URL+"/admin/x", token); status != 403 {
		t.Errorf("after a rejected reload /admin/x = %d, want 403", status)
	}

	// Rotated secrets: the session sealed with the old secret stays valid.
	gw.rewrite(t, a, opsConfig(p, up.URL, []string{secret2, secret}, "deny = true"))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 2)
	if status, _ := apiGet(session, gw.URL+"/app/y", ""); status != 200 {
		t.Errorf("the session after rotating secrets: %d, want 200", status)
	}
	requests(20)
}

// lineOf is the 1-based line of the first line of text containing s.
func lineOf(text, s string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}

// TestStartsBeforeTheProvider: serve starts while the provider is down
// (so Kubernetes does not crash-loop it), stays not ready and answers 503
// without a login loop, retries discovery, and turns ready and logs users
// in once the provider is up.
func TestStartsBeforeTheProvider(t *testing.T) {
	t.Parallel()
	providerAddr := testenv.Addr(testenv.FreePort(t))
	up := newUpstream(t)
	gw := startGatewayListening(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider("http://"+providerAddr, "client", "secret"),
		Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())

	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503} {
		resp, err := plainClient.Get(gw.OpsURL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d %s, want %d", path, resp.StatusCode, b, want)
		}
	}
	c, redirects := redirectCounter(t)
	if status, _, _ := get(t, c, gw.URL+"/app"); status != http.StatusServiceUnavailable || *redirects != 0 {
		t.Errorf("a request before discovery: %d after %d redirects, want 503 and none", status, *redirects)
	}

	oidctest.New(t, oidctest.Options{Addr: providerAddr})
	gw.waitReady(t)
	if status, body, _ := get(t, browser(t), gw.URL+"/app"); status != 200 || decodeSeen(t, body).Headers.Get("X-Forwarded-User") != "alice" {
		t.Errorf("login once the provider is up: %d", status)
	}
}
