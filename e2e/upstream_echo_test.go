package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestUpstreamEchoKeepsTheQueryOut: an upstream that answers with what it
// was sent (an echo service behind a wrong port, a line protocol that
// quotes the command it refused) fails the request with 502, and Go's
// transport quotes its first line, the request line, in the error:
// "malformed HTTP status code \"/public/x?token=...\"". That
// error went whole into the refused request's log line and the upstream
// span's status, query string included. Both keep the cause and name no
// part of the query, at debug with JSON and spans on standard output.
func TestUpstreamEchoKeepsTheQueryOut(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: testenv.LineEcho(t),
		Extra: "[log]\nformat = \"json\"\nlevel = \"debug\"\n", Server: "shutdown_delay = \"0s\"\n", Routes: "[[routes]]\npath = \"/public/**\"\npublic = true\n"}.String()
	gw := startGatewayEnv(t, pickAddrs(t), cfg, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_BSP_SCHEDULE_DELAY=100"})
	gw.waitReady(t)
	w := newLeakWatch()
	q, code := randomSecret(t), randomSecret(t)
	w.secret("query value", q)
	w.secret("code in the query", code)
	for _, m := range []string{"GET", "PUT", "DELETE"} {
		req, _ := http.NewRequest(m, gw.URL+"/public/x?token="+q+"&code="+code+"&n=1", nil)
		resp, err := plainClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s through the echo: %d, want 502", m, resp.StatusCode)
		}
	}
	gw.waitOutput(t, `"upstream app"`, 3) // the spans, written by the batcher
	gw.signal(t, syscall.SIGTERM)
	select {
	case <-gw.Proc.Exited():
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	out := gw.Proc.Output()
	w.out("gateway logs and spans", out, true)
	w.check(t, 2, 1)
	if n := strings.Count(out, `malformed HTTP status code \"/public/x?[redacted]`); n < 6 {
		t.Errorf("the cause is named %d times, want 3 log lines and 3 spans:\n%s", n, out)
	}
}

// TestDirectoryEchoKeepsTheQueryOut: a directory (or an egress proxy before
// it) that answers with what it was sent made the groups read's error quote
// the request line, "malformed HTTP status code
// \"/admin/directory/v1/groups?userKey=ann%40acme.com...\"", in the log,
// where directory errors name their URL without its query (which names
// the user). The sign-in fails closed (502) and the log keeps the cause.
func TestDirectoryEchoKeepsTheQueryOut(t *testing.T) {
	t.Parallel()
	cfg := echoingDirectoryConfig(t)
	cfg.Extra = "[log]\nlevel = \"debug\"\n"
	gw := startGateway(t, pickAddrs(t), cfg.String())
	if status, body, _ := get(t, browser(t), gw.URL+"/eng/dash"); status != http.StatusBadGateway {
		t.Fatalf("sign-in with an echoing directory: %d, want 502\n%s", status, body)
	}
	gw.waitOutput(t, "malformed HTTP", 1)
	out := settledOutput(t, gw) // the sign-in's later lines too
	for _, s := range []string{"ann%40acme.com", "ann@acme.com", "userKey="} {
		if i := strings.Index(out, s); i >= 0 {
			t.Errorf("the log names the directory request's query (%q):\n%s", s, around(out, i, len(s)))
		}
	}
	if !strings.Contains(out, `malformed HTTP status code \"/admin/directory/v1/groups?[redacted]`) {
		t.Errorf("the log does not keep the cause:\n%s", out)
	}
}

// echoingDirectoryConfig is a Google provider whose user ann@acme.com
// signs in, whose directory_url is an echo service (testenv.LineEcho), and
// whose routes need that directory's groups.
func echoingDirectoryConfig(t *testing.T) tomlConfig {
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "108123",
		Claims: map[string]any{"email": "ann@acme.com", "email_verified": true, "hd": "acme.com"}}})
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{})
	return tomlConfig{
		Provider: googleProvider(t, p, g, "admin@acme.com", testenv.LineEcho(t)),
		Upstream: newUpstream(t).URL,
		Routes:   directoryRoutes("eng@acme.com", "ops@acme.com"),
	}
}
