package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// opsUpstreamConfig is a gateway with the profiler on whose one upstream is
// upstreamURL, served without sign-in under /debug/**.
func opsUpstreamConfig(p *oidctest.Provider, upstreamURL, server string) string {
	return tomlConfig{
		Server:   "pprof = true\n" + server,
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: upstreamURL,
		Routes:   "[[routes]]\npath = \"/debug/**\"\npublic = true\n\n[[routes]]\npath = \"/**\"\n",
	}.String()
}

// pprofThroughGateway is what GET /debug/pprof/cmdline on the gateway
// listener answers: the command line, NUL-separated, when the ops
// listener's profiler is served through a route.
func pprofThroughGateway(tb testing.TB, gwURL string) (int, string) {
	tb.Helper()
	resp, err := plainClient.Get(gwURL + "/debug/pprof/cmdline")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeRefusesAnUpstreamAtTheOpsListener: an upstream at the ops
// listener put /metrics and the profiler (the command line, stacks, CPU
// profiles and traces) on the gateway listener, here without sign-in:
// check passed, serve started and /debug/pprof/cmdline through the
// gateway answered 200 with the command line. check and serve now exit 2,
// naming the upstream's url line.
func TestServeRefusesAnUpstreamAtTheOpsListener(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	cfg := strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).
		Replace(opsUpstreamConfig(p, "http://{{OPS}}", ""))
	path := filepath.Join(t.TempDir(), "portcullis.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	want := path + ":" + strconv.Itoa(lineOf(cfg, "url = \"http://"+a.Ops)) + ": upstreams[0].url: "
	for _, cmdName := range []string{"check", "serve"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, binary, cmdName, "--config", path)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(out.String(), want) ||
				!strings.Contains(out.String(), "ops listener") {
				t.Errorf("%s: %v, want exit 2 with %q...ops listener:\n%s", cmdName, err, want, out.String())
			}
		case <-time.After(5 * time.Second):
			status, body := pprofThroughGateway(t, "http://"+a.Listen)
			t.Errorf("%s runs: the gateway answers /debug/pprof/cmdline %d %q, want exit 2", cmdName, status, body)
			cmd.Process.Signal(syscall.SIGTERM)
			<-done
		}
		cancel()
	}
}

// TestReloadRefusesAnUpstreamAtTheRunningOpsListener: a reload cannot
// move ops_listen (a warning says so), yet its file was checked against
// the new ops_listen only: a file that moved it and named the old port as
// an upstream was applied, and the running ops listener's profiler
// answered through the gateway (200, the command line). The reload is now
// refused with the upstream's line, and the previous upstream serves on.
func TestReloadRefusesAnUpstreamAtTheRunningOpsListener(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	gw := startGateway(t, a, opsUpstreamConfig(p, up.URL, ""))
	moved := opsUpstreamConfig(p, "http://"+a.Ops, "")
	moved = strings.Replace(moved, `ops_listen = "{{OPS}}"`, `ops_listen = "`+testenv.Addr(testenv.FreePort(t))+`"`, 1)
	gw.rewrite(t, a, moved)
	gw.signal(t, syscall.SIGHUP)
	out := waitReloadEnd(t, gw)
	want := gw.configPath() + ":" + strconv.Itoa(lineOf(moved, "url = \"http://"+a.Ops)) + ": upstreams[0].url: "
	if !strings.Contains(out, "config reload rejected") || !strings.Contains(out, want) {
		t.Errorf("the reload is not refused at %q:\n%s", want, tail(out, 6))
	}
	if status, body := pprofThroughGateway(t, gw.URL); strings.Contains(body, "--config") || status != 200 {
		t.Errorf("/debug/pprof/cmdline through the gateway after the reload: %d %q, want the app's answer", status, body)
	}
	if v := metricValue(t, gw, "portcullis_config_last_reload_successful"); v != 0 {
		t.Errorf("config_last_reload_successful = %v, want 0", v)
	}
}

// waitReloadEnd waits for the first reload's last line, applied or
// rejected, and returns the output.
func waitReloadEnd(tb testing.TB, gw *gateway) string {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if out := gw.completeOutput(); strings.Contains(out, "config reloaded") || strings.Contains(out, "config reload rejected") {
			return out
		}
	}
	tb.Fatalf("no reload ended:\n%s", gw.Proc.Output())
	return ""
}

// TestUpstreamDialRefusesTheGatewaysOwnListener: the file's check compares
// an upstream with the listeners as written, and a name that resolves to
// this host (its own host name, here) is not looked up; the upstream
// dialler let it through to the ops listener, whose profiler answered on
// the gateway listener without sign-in (200, the command line). The
// dialler now refuses an address the gateway listens at: 502, and the
// application's error page.
func TestUpstreamDialRefusesTheGatewaysOwnListener(t *testing.T) {
	t.Parallel()
	host, err := os.Hostname()
	if err != nil || strings.EqualFold(host, "localhost") {
		t.Skipf("no host name of its own: %q %v", host, err)
	}
	if ips, err := net.LookupHost(host); err != nil || len(ips) == 0 {
		t.Skipf("the host name %q does not resolve: %v", host, err)
	}
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	_, port, _ := net.SplitHostPort(a.Ops)
	cfg := opsUpstreamConfig(p, "http://"+host+":"+port, "")
	// On every address, so that the host name reaches it whatever it resolves to.
	cfg = strings.Replace(cfg, `ops_listen = "{{OPS}}"`, `ops_listen = ":`+port+`"`, 1)
	gw := startGateway(t, a, cfg)
	status, body := pprofThroughGateway(t, gw.URL)
	if status != 502 || strings.Contains(body, "--config") {
		t.Errorf("/debug/pprof/cmdline through the gateway, upstream http://%s:%s: %d %q, want 502", host, port, status, body)
	}
	// The line is written after the answer, and read from the process's
	// output by another goroutine: wait for it.
	why := func() bool { return strings.Contains(gw.Proc.Output(), "one of the gateway's own listeners") }
	for deadline := time.Now().Add(5 * time.Second); !why() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if !why() {
		t.Errorf("the log does not say why:\n%s", tail(gw.Proc.Output(), 4))
	}
}
