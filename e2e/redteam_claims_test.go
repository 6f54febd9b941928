package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamHostileClaims: a provider's claims with HTML in them reach
// the gateway's pages escaped and the app as sent, and userinfo's JSON
// escapes them, to no other origin.
func TestRedTeamHostileClaims(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
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
	// No other site may read the identity: userinfo grants no CORS,
	// to a request or a preflight.
	for _, m := range []string{"GET", "OPTIONS"} {
		status, hdr := send(t, c, m, gw.URL+"/oauth2/userinfo", map[string]string{"Origin": "http://evil.test",
			"Access-Control-Request-Method": "GET", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})
		for k := range hdr {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s userinfo from another origin: %d with %s: %s", m, status, k, hdr.Get(k))
			}
		}
	}
}
