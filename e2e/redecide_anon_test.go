package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAnonymousWebSocketEndsWhenReloadRemovesItsRoute: a WebSocket opened
// without a session on a public route is closed within the recheck
// interval (10 s) of a reload that removes the route, as one with a
// session is. Before, it stayed open (only connections with an identity
// were rechecked).
func TestAnonymousWebSocketEndsWhenReloadRemovesItsRoute(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	t.Cleanup(up.Close)
	a := pickAddrs(t)
	cfg := wsConfig(p, up.URL, "", "")
	gw := startGateway(t, a, cfg)
	conn, br := dialWebSocketAt(t, gw, "/public/ws", &http.Cookie{Name: "unrelated", Value: "1"})

	gw.rewrite(t, a, strings.Replace(cfg, "path = \"/public/**\"\npublic = true", "path = \"/public/**\"", 1))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, `msg="config reloaded"`, 1)
	_ = conn.SetReadDeadline(time.Now().Add(25 * time.Second))
	took, closed := closedWithin(t, br, 25*time.Second)
	if !closed {
		t.Fatalf("the anonymous WebSocket outlived a reload that made its route need a sign-in\n%s", gw.Proc.Output())
	}
	t.Logf("closed %v after the reload", took.Round(time.Second))
	if took > 12*time.Second {
		t.Errorf("closed %v after the reload, want within the 10 s recheck", took)
	}
}
