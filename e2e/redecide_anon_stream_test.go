package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAnonymousEventStreamEndsWhenReloadRemovesItsRoute: an event stream
// opened without a session on a public route, quiet after its first event,
// is broken off within the recheck interval (10 s) of a reload that makes
// the route need a sign-in, as an anonymous WebSocket is. Before, only
// answers to requests with an identity were decided again: the stream
// stayed open for as long as the application kept it.
func TestAnonymousEventStreamEndsWhenReloadRemovesItsRoute(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	cfg := wsConfig(p, newEventStreamUpstream(t), "", "")
	gw := startGateway(t, a, cfg)
	conn, br := openEventStream(t, gw, "/public/events", &http.Cookie{Name: "unrelated", Value: "1"})

	gw.rewrite(t, a, strings.Replace(cfg, "path = \"/public/**\"\npublic = true", "path = \"/public/**\"", 1))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	reloaded := time.Now()
	at, broken := breakTime(conn, br, reloaded.Add(25*time.Second))
	if !broken {
		t.Fatalf("the anonymous event stream outlived a reload that made its route need a sign-in\n%s", gw.Proc.Output())
	}
	took := at.Sub(reloaded)
	t.Logf("broken off %v after the reload", took.Round(time.Second))
	if took > 12*time.Second {
		t.Errorf("broken off %v after the reload, want within the 10 s recheck", took)
	}
}
