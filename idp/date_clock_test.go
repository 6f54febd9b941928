package idp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestDateRefusalsShowTheGatewaysClock: every refusal of a token for its
// dates shows the gateway's time beside the token's, so that a clock off
// (no NTP, a paused VM) can be told from a stale or forged token: a
// logout token's exp, nbf, future iat and an iat past its maximum age (a
// gateway clock ahead refuses every back-channel logout, and the sessions
// stay), and an ID token's auth_time in the future or older than max_age
// allows.
func TestDateRefusalsShowTheGatewaysClock(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	clock := "the gateway's clock says " + clk.Now().UTC().Format(time.RFC3339)
	for name, extra := range map[string]map[string]any{
		"expired":       {"exp": now - 120},
		"not yet valid": {"nbf": now + 600},
		"iat in future": {"iat": now + 600},
		"stale iat":     {"iat": now - 600},
	} {
		_, _, err := c.VerifyLogoutToken(context.Background(), p.LogoutToken("alice", "sid-alice", extra))
		if err == nil || !strings.Contains(err.Error(), clock) {
			t.Errorf("logout token %s: %v, want it to say %q", name, err, clock)
		}
	}
	for name, at := range map[string]int64{"auth_time in the future": now + 600, "auth_time too old": now - 3*3600} {
		claims := map[string]any{"email": "alice@example.com", "email_verified": true, "auth_time": at}
		o := oidctest.Options{User: &oidctest.User{Subject: "alice", Claims: claims}, Now: clk.Now}
		p := oidctest.New(t, o)
		c, err := New(Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			RedirectURL: redirectURL, Now: clk.Now, AuthParams: map[string]string{"max_age": "300"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Discover(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := login(t, c); err == nil || !strings.Contains(err.Error(), clock) {
			t.Errorf("%s: %v, want it to say %q", name, err, clock)
		}
	}
}
