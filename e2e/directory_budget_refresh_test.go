package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShortGroupsRefreshKeepsAnActiveSession: with groups_refresh = "1s"
// (anything under six seconds) one active session reads the directory more
// than ten times a minute, the user's own read budget: its eleventh read
// ended the session, and a user who did nothing but use one tab was signed
// out, their next sign-in refused with 429. Over the budget a session now
// keeps the groups it read within the last groups_refresh plus the
// budget's minute (the next window's first read replaces them); past that
// it still ends, so signing in again and again keeps a removed group for
// a minute more at most, not the stale hour.
func TestShortGroupsRefreshKeepsAnActiveSession(t *testing.T) {
	t.Parallel()
	_, g, gw := googleGateway(t, "admin@acme.com", "acme.com") // groups_refresh = "1s"
	c := browser(t)
	for i := range 14 {
		status, body, _ := get(t, c, gw.URL+"/eng/dash")
		if status != http.StatusOK || !strings.Contains(decodeSeen(t, body).Headers.Get("X-Forwarded-Groups"), "eng@acme.com") {
			t.Fatalf("request %d of one tab, a second apart: %d, want 200 with the groups\n%s", i, status, body)
		}
		time.Sleep(1100 * time.Millisecond)
	}
	if n := len(g.Calls("/admin/directory/v1/groups")); n > 12 {
		t.Errorf("%d directory calls in some 15 s, want the budget's 10 and eng@'s own", n)
	}
}
