package proxy

import (
	"testing"
	"time"
)

// TestCookieUpgradeRereadsDirectoryGroups: an open WebSocket of a
// cookie-store session reads its directory groups again as the Redis
// store's does, once per groups_refresh (the read is kept on the watch,
// since the connection's cookie cannot be replaced), and ends when the
// read shows the user removed from the route's group. Before, its groups
// were never read again and the connection stayed open to the session's
// end.
func TestCookieUpgradeRereadsDirectoryGroups(t *testing.T) {
	f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.UpgradeRecheck = 20 * time.Millisecond })
	dp := withDirectory(t, f)
	dp.set([]string{"admins"}, nil)
	conn, br := openUpgradeAt(t, f, "/admin/ws", cookieHeader(saveToStore(t, f.cfg.Sessions, directorySession(f))))
	echoes(t, conn, br)

	f.clock.Advance(11 * time.Minute)
	waitUntil(t, "the directory read due at a recheck", func() bool { return dp.count() == 1 })
	time.Sleep(200 * time.Millisecond) // ten rechecks, none due for a read
	echoes(t, conn, br)
	if n := dp.count(); n != 1 {
		t.Fatalf("%d directory reads within groups_refresh of the last, want 1", n)
	}
	dp.set([]string{"staff"}, nil) // removed from admins
	f.clock.Advance(11 * time.Minute)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Errorf("the WebSocket outlived a directory read without the route's group (directory asked %d times)", dp.count())
	}
}
