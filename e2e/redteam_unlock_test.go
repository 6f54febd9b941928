package e2e

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/webdav"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamUnlockDecidedAsAWrite: an UNLOCK removes a lock, which a LOCK
// (decided as a PUT) took, but it was decided as itself alone, which only
// "/**" takes: bob (staff) removed finance's lock on /archive/old, whose
// PUT is for finance, through a real x/net/webdav server (204, want 403),
// and could then have the file changed under finance's feet.
func TestRedTeamUnlockDecidedAsAWrite(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	app, fs := effectApp(t)
	app.Close()
	ls := webdav.NewMemLS()
	dav := httptest.NewServer(&webdav.Handler{FileSystem: fs, LockSystem: ls})
	t.Cleanup(dav.Close)
	token, err := ls.Create(time.Now(), webdav.LockDetails{Root: "/archive/old", Duration: time.Hour, ZeroDepth: true})
	if err != nil {
		t.Fatal(err)
	}
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, dav.URL, "", effectRoutes))
	_, cookie := signInBob(t, p, gw.URL)
	addr := strings.TrimPrefix(gw.URL, "http://")
	status, body := rawDo(t, addr, "UNLOCK /archive/old HTTP/1.1\r\nLock-Token: <"+token+">\r\nHost: "+addr+
		"\r\nCookie: "+cookie+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if status != 403 {
		t.Errorf("bob's UNLOCK of finance's lock on /archive/old: %d %.200s, want 403", status, body)
	}
	if err := ls.Unlock(time.Now(), token); err != nil {
		t.Errorf("finance's lock on /archive/old is gone: %v", err)
	}
}
