package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestLookalikeEmailDomainRefused signs users in at a real provider with
// addresses that a suffix or substring check of allow_email_domains lets
// through (oauth2-proxy's email domain and whitelist checks, Vouch's
// domains), or that were not verified as sent: each is refused /corp/**,
// whose rule is allow_email_domains = ["example.com"], and its app is not
// reached, in proxy mode and behind nginx (forward-auth). The address of
// the domain, in another case, still passes (the control).
func TestLookalikeEmailDomainRefused(t *testing.T) {
	t.Parallel() // one gateway per mode, in parallel: each has its own provider, app and ports
	t.Run("proxy", func(t *testing.T) {
		t.Parallel()
		p, up := oidctest.New(t, oidctest.Options{}), newUpstream(t)
		gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", corpDomainRoutes))
		lookalikesRefused(t, p, up, gw.URL)
	})
	t.Run("nginx", func(t *testing.T) {
		t.Parallel()
		p, up, front, a := oidctest.New(t, oidctest.Options{}), newUpstream(t), testenv.Addr(testenv.FreePort(t)), pickAddrs(t)
		cfg := forwardAuthTOML(p, "http://"+front, up.URL, "127.0.0.2/32")
		cfg.Routes = corpDomainRoutes
		startGateway(t, a, cfg.String())
		startNginx(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
		lookalikesRefused(t, p, up, "http://"+front)
	})
}

const corpDomainRoutes = "[[routes]]\npath = \"/corp/**\"\nallow_email_domains = [\"example.com\"]\n\n[[routes]]\npath = \"/**\"\n"

// lookalikesRefused signs each look-alike in at origin in a fresh browser
// and wants /corp/x refused without reaching up; then the control.
func lookalikesRefused(t *testing.T, p *oidctest.Provider, up *upstream, origin string) {
	t.Helper()
	for i, tc := range []struct {
		email    string
		verified any
	}{
		{"mallory@evil-example.com", true}, {"mallory@notexample.com", true}, {"mallory@sub.example.com", true},
		{"mallory@example.com.evil.test", true}, {"mallory@example.com.", true}, {"mallory@evil.test@example.com", true},
		{"mallory@example.com@evil.test", true}, {"mallory@evil.test,example.com", true}, {"mallory@evil.test (example.com)", true},
		{"mallory@example.com ", true}, {"mallory@example.com\x00", true}, {"example.com@evil.test", true},
		{"mallory@example.com", false}, {"mallory@example.com", "true"}, {"mallory@example.com", nil},
	} {
		claims := map[string]any{"email": tc.email}
		if tc.verified != nil {
			claims["email_verified"] = tc.verified
		}
		p.SetUser(oidctest.User{Subject: "lookalike-" + string(rune('a'+i)), Claims: claims})
		before := up.count()
		status, _, _ := get(t, browser(t), origin+"/corp/x")
		if status == http.StatusOK || up.count() != before && up.last().Path == "/corp/x" {
			t.Errorf("%q (email_verified %v): %d, the app reached: %v", tc.email, tc.verified, status, up.count() != before)
		}
	}
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "Alice@Example.COM", "email_verified": true}})
	if status, _, _ := get(t, browser(t), origin+"/corp/x"); status != http.StatusOK || up.last().Path != "/corp/x" {
		t.Errorf("Alice@Example.COM (control): %d, the app saw %q", status, up.last().Path)
	}
}
