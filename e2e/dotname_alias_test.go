package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestDotNameFormatSuffixDecidedAsItsRoute: Rails' "/.status(.:format)"
// and Spring's "/.status.*" serve "/.status.json" as "/.status", so a
// format suffix after a name that starts with a dot is decided as the name
// too. Since the suffix rule was widened (review KO) such a segment got no
// alias, and bob (staff) reached the admins' literal route "/.status"
// through "/.status.json" (200, the app received it). Signed in at a real
// provider, in proxy mode: each spelling is refused and never forwarded.
func TestDotNameFormatSuffixDecidedAsItsRoute(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	routes := demoRoutes + "\n[[routes]]\npath = \"/.status\"\nallow_groups = [\"admins\"]\n\n[[routes]]\npath = \"/**\"\n"
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", routes))
	bob, _ := signInBob(t, p, gw.URL)
	for _, path := range []string{"/.status", "/.status.json", "/.status.x-y", "/.status.", "/.status.json/"} {
		before := up.count()
		if status, body, _ := get(t, bob, gw.URL+path); status != 403 || up.count() != before {
			t.Errorf("bob GET %s: %d %.120s (app received %d), want 403 like /.status", path, status, body, up.count()-before)
		}
	}
	if status, _, _ := get(t, bob, gw.URL+"/.statusx"); status != 200 {
		t.Errorf("bob GET /.statusx: %d, want 200 (no route before /** refuses it)", status)
	}
}
