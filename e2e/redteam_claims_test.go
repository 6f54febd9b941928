package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamHostileClaims: a provider's claims with HTML in them reach
// the gateway's pages escaped and the app as sent, and userinfo's JSON
// escapes them.
func TestRedTeamHostileClaims(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	evil := `<img src=x onerror=alert(1)>"'`
	p.SetUser(oidctest.User{Subject: "bob" + evil, Claims: map[string]any{"email": "bob" + evil + "@example.com",
		"email_verified": true, "preferred_username": "bob" + evil, "name": evil, "groups": []any{"staff" + evil}}})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 || decodeSeen(t, body).Headers.Get("X-Forwarded-User") != "bob"+evil {
		t.Fatalf("login: %d %.500s", status, body)
	}
	for path, want := range map[string]int{"/admin/x": 403, "/oauth2/userinfo": 200} {
		status, body, _ := get(t, c, gw.URL+path)
		if status != want || strings.Contains(body, "<img") {
			t.Errorf("%s: %d, raw claim HTML %v\n%.1000s", path, status, strings.Contains(body, "<img"), body)
		}
	}
}
