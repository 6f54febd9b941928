package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestStolenCodeInTheAttackersLogin: a code taken from a victim's callback
// (a log, a Referer, a browser history) and presented at the attacker's own
// callback, with the attacker's own login state, signs nobody in
// (docs/security.md, Login): a provider that enforces PKCE refuses it with
// the attacker's verifier, and from one that takes code_challenge without
// checking it the ID token carries the victim's nonce, which the gateway
// checks itself. The provider's one user stands for the victim: what the
// code would sign in as.
func TestStolenCodeInTheAttackersLogin(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	for _, tt := range []struct {
		name       string
		ignorePKCE bool
		status     int
		why        string // in the err of the gateway's refusal
	}{
		{"provider enforces PKCE", false, http.StatusBadRequest,
			`the token endpoint answered 400: \"invalid_grant\" \"PKCE verification failed\"`},
		{"provider ignores PKCE", true, http.StatusBadGateway,
			"ID token nonce does not match the authorization request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t)
			p := oidctest.New(t, oidctest.Options{IgnorePKCE: tt.ignorePKCE})
			gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", "[[routes]]\npath = \"/**\"\n"))
			stolen := mustURL(t, pausedLogin(t, browser(t), gw, "/hello")).Query().Get("code")
			attacker := browser(t)
			cb := mustURL(t, pausedLogin(t, attacker, gw, "/hello"))
			q := cb.Query()
			q.Set("code", stolen)
			cb.RawQuery = q.Encode()

			stay := *attacker
			stay.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			tokens := p.Requests("/token")
			status, body, resp := get(t, &stay, cb.String())
			if status != tt.status || !strings.Contains(body, "Sign-in failed") {
				t.Errorf("the victim's code at the attacker's callback: %d, want %d and the failed sign-in page\n%.300s", status, tt.status, body)
			}
			if line, _ := nextLogLine(t, gw, 0, "proxy: request refused"); !strings.Contains(line, tt.why) {
				t.Errorf("the stolen code was refused for another reason than %q:\n%s", tt.why, line)
			}
			if n := p.Requests("/token") - tokens; n != 1 {
				t.Errorf("token requests: %d, want 1 (the stolen code, redeemed or refused at the provider)", n)
			}
			for _, ck := range resp.Header.Values("Set-Cookie") {
				if strings.HasPrefix(ck, "portcullis=") && !strings.HasPrefix(ck, "portcullis=;") {
					t.Error("the attacker's callback set a session cookie")
				}
			}
			// The attacker's next visit is sent to sign in: no session.
			status, _, resp = get(t, &stay, gw.URL+"/hello")
			if loc := resp.Header.Get("Location"); status != http.StatusFound || !strings.HasPrefix(loc, p.Issuer+"/") {
				t.Errorf("the attacker's next visit: %d to %q, want a redirect to the provider", status, loc)
			}
		})
	}
}
