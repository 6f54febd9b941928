package proxy

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/policy"
)

// TestAnonymousUpgradeEndsWhenReloadDeniesIt: a WebSocket opened without
// an identity on a public route is decided again with the routes in force
// too. Before, only connections with an identity were watched: a reload
// that made /public/** need a sign-in (or removed it) left an anonymous
// WebSocket open for as long as its client kept it.
func TestAnonymousUpgradeEndsWhenReloadDeniesIt(t *testing.T) {
	f, live := liveUpgrade(t)
	conn, br := openUpgradeAt(t, f, "/public/ws", "")
	live.Store(reloaded(t, f, testRoutes)) // a reload that changes nothing for it
	live.rechecked(t)
	echoes(t, conn, br)
	routes := append([]policy.RouteConfig(nil), testRoutes[1:]...) // /public/** removed
	live.Store(reloaded(t, f, routes))
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the anonymous WebSocket outlived a reload that removed its public route")
	}
}
