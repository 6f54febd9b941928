package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// TestUpgradeWatchPanicEndsTheConnection: the watcher of an upgraded
// connection runs in a goroutine of its own, where no server recovers a
// panic; one in a recheck (here the provider's refresh, a library's bug on
// a hostile answer) ended the process. It now ends that connection alone,
// closed, and the gateway serves on.
func TestUpgradeWatchPanicEndsTheConnection(t *testing.T) {
	logs := &syncBuffer{}
	f := newFixtureWith(t, echoUpgrade, func(c *Config) {
		c.Sessions = realRedisStore(t, c.Now)
		c.UpgradeRecheck = 50 * time.Millisecond
	}, withDebugLog(logs))
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		panic("a library's bug on the provider's answer")
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(10 * time.Minute)
	conn, br := openUpgrade(t, f, cookieHeader(saveToStore(t, f.cfg.Sessions, s)))
	echoes(t, conn, br)
	f.clock.Advance(10 * time.Minute) // the refresh is due at the next recheck
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket stayed open after its watcher failed")
	}
	if !strings.Contains(logs.String(), "panic") {
		t.Errorf("no log line names the watcher's panic:\n%s", logs.String())
	}
}
