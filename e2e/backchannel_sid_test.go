package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBackchannelLogoutOfARefreshedSID: a refresh whose new ID token names
// another provider session (sid) than the sign-in's makes that sid the
// session's (the identity, the assertion and userinfo say it), so the
// provider's logout of that sid must end the session. The Redis index was
// written at sign-in only: the logout of the new sid found nothing,
// answered 200, and the session went on being served.
func TestBackchannelLogoutOfARefreshedSID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, logoutSID string }{
		{"the refreshed sid", "op-sid-2"},
		{"the sign-in's sid", "op-sid-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			refreshedSIDLogout(t, tc.logoutSID)
		})
	}
}

// refreshedSIDLogout signs alice in under op-sid-1, has the provider name
// op-sid-2 at the refresh, then posts a logout token for sid: either must
// end the session. Access tokens live 3 s and are due 1 s after issue.
func refreshedSIDLogout(t *testing.T, sid string) {
	user := func(sid string) *oidctest.User {
		return &oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com",
			"email_verified": true, "groups": []string{"admins"}, "sid": sid}}
	}
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 3 * time.Second, User: user("op-sid-1")})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL,
		redisSession(rs.URL())+"refresh_margin = \"2s\"\n"))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	issued := time.Now()
	ck := sessionCookie(t, c, gw)

	p.SetUser(*user("op-sid-2"))
	sleepUntil(issued.Add(1200 * time.Millisecond))
	before := p.Grants("refresh_token")
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/refresh", ck, false); status != http.StatusOK {
		t.Fatalf("the due request: %d\n%s", status, gw.Proc.Output())
	}
	if p.Grants("refresh_token") != before+1 {
		t.Fatalf("%d refreshes, want 1", p.Grants("refresh_token")-before)
	}

	if status, body, _ := postLogout(t, gw, p.LogoutToken("", sid, nil)); status != http.StatusOK {
		t.Fatalf("logout token for %s: %d %s", sid, status, body)
	}
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/after", ck, false); status != http.StatusUnauthorized {
		t.Errorf("after the back-channel logout of %s: %d, want 401\n%s", sid, status, gw.Proc.Output())
	}
	if n := len(rs.Client().Keys(t.Context(), "portcullis:s:*").Val()); n != 0 {
		t.Errorf("%d session keys left in Redis, want 0", n)
	}
}
