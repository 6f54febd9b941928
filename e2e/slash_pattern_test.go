package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// An operator who protects the admin page as `path = "/admin/"` meant the
// page Rails, Express, Laravel and ASP.NET Core serve for both "/admin/" and
// "/admin": the gateway decided "/admin" by the routes after it, and a
// non-admin reached the page through "/admin" and "/admin.json". Such a
// path is now decided as "/admin/" too.
func TestSlashPatternKeepsItsPageWithoutSlash(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []string{"staff"}}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL, Routes: "\n[[routes]]\npath = \"/admin/\"\nallow_groups = [\"admins\"]\n\n[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	for _, path := range []string{"/admin/", "/admin", "/admin.json"} {
		before := up.count()
		if status, _, _ := get(t, c, gw.URL+path); status != 403 || up.count() != before {
			t.Errorf("bob's %s: %d (the app contacted: %v), want 403", path, status, up.count() != before)
		}
	}
}
