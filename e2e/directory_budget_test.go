package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestOneUsersSignInsLeaveTheDirectoryQuota: Google's directory is read
// with the service account, from one quota for every user. One account
// signing in again and again (a script, each sign-in silent at the
// provider) spent it, the directory throttled the service account, and
// every other user's sign-in failed (502) until the throttle's end. Now a
// user's own reads are budgeted: past the budget that user's sign-in is a
// 429 with Retry-After, without a directory call, and bob signs in.
func TestOneUsersSignInsLeaveTheDirectoryQuota(t *testing.T) {
	t.Parallel()
	ann := oidctest.User{Subject: "108123", Claims: map[string]any{"email": "ann@acme.com", "email_verified": true, "hd": "acme.com"}}
	p := oidctest.New(t, oidctest.Options{User: &ann})
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{Quota: 30})
	g.SetMemberships("ann@acme.com", "eng@acme.com")
	g.SetMemberships("bob@acme.com", "eng@acme.com")
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: googleProvider(t, p, g, "admin@acme.com", g.URL),
		Upstream: newUpstream(t).URL,
		Routes:   directoryRoutes("eng@acme.com", "ops@acme.com"),
	}.String())
	refused := 0
	for i := range 40 { // ann's script: a fresh sign-in each time
		status, _, resp := get(t, browser(t), gw.URL+"/eng/dash")
		switch {
		case status == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "60":
			refused++
		case status != http.StatusOK:
			t.Logf("ann's sign-in %d: %d", i, status)
		}
	}
	if refused != 30 {
		t.Errorf("%d of ann's 40 sign-ins refused with 429 and Retry-After, want all but her 10 reads", refused)
	}
	// One call per read, and one for eng@'s own groups (kept a minute).
	if n := len(g.Calls("/admin/directory/v1/groups")); n > 11 {
		t.Errorf("ann's sign-ins made %d directory calls, want at most 11", n)
	}
	p.SetUser(oidctest.User{Subject: "108124", Claims: map[string]any{"email": "bob@acme.com", "email_verified": true, "hd": "acme.com"}})
	status, body, _ := get(t, browser(t), gw.URL+"/eng/dash")
	if status != http.StatusOK || !strings.Contains(decodeSeen(t, body).Headers.Get("X-Forwarded-Groups"), "eng@acme.com") {
		t.Errorf("bob's sign-in after ann's: %d, want 200 with his groups\n%s", status, body)
	}
}
