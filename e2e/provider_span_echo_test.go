package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDirectoryEchoSpanKeepsTheQueryOut: with tracing on, a directory (or
// an egress proxy before it) that answers with what it was sent made the
// "provider GET /admin/directory/v1/groups" span's status the transport's
// error as it came, "malformed HTTP status code
// \"/admin/directory/v1/groups?userKey=ann%40acme.com...\"": the query,
// which names the user and which that span's url.full leaves out, was
// exported, though the log line of the same read had it redacted. The
// span keeps the cause, and names no part of the query.
func TestDirectoryEchoSpanKeepsTheQueryOut(t *testing.T) {
	t.Parallel()
	cfg := echoingDirectoryConfig(t)
	cfg.Server = "shutdown_delay = \"0s\"\n"
	gw := startGatewayEnv(t, pickAddrs(t), cfg.String(), []string{"OTEL_TRACES_EXPORTER=console", "OTEL_BSP_SCHEDULE_DELAY=100"})
	gw.waitReady(t)
	if status, body, _ := get(t, browser(t), gw.URL+"/eng/dash"); status != http.StatusBadGateway {
		t.Fatalf("sign-in with an echoing directory: %d, want 502\n%s", status, body)
	}
	gw.waitOutput(t, `"provider GET /admin/directory/v1/groups"`, 1) // written by the batcher
	gw.signal(t, syscall.SIGTERM)
	select {
	case <-gw.Proc.Exited():
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	out := gw.Proc.Output()
	for _, s := range []string{"ann%40acme.com", "ann@acme.com", "userKey="} {
		if i := strings.Index(out, s); i >= 0 {
			t.Errorf("the log or a span names the directory request's query (%q):\n%s", s, around(out, i, len(s)))
		}
	}
	if n := strings.Count(out, `malformed HTTP status code \"/admin/directory/v1/groups?[redacted]`); n < 2 {
		t.Errorf("the cause is named %d times, want in the log line and the span:\n%s", n, out)
	}
}
