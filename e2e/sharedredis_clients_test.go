package e2e

import (
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestSharedRedisLogoutStaysWithItsClient: two gateways for two apps,
// copied from one set of values (the same secrets, one Redis database),
// each signing in with a client of its own at one provider. A's session
// cookie does not open at B (it names a key in the shared Redis). The provider
// logs the user out of app B only (a logout token for B's client, by sub,
// or by the provider session's sid as Keycloak shares it between clients):
// app A's session of the same user goes on, as the provider, which tells
// each client of its own logouts, meant. The users' index sets were named
// by the secrets alone, so B's logout found and ended A's sessions; a
// second logout token for A's client at A still ends A's session.
func TestSharedRedisLogoutStaysWithItsClient(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gwA := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	gwB := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, "app-b", "app-b-secret", up.URL, redisSession(rs.URL())))
	c := browser(t)
	loginThrough(t, c, gwA, "alice")
	ck := sessionCookie(t, c, gwA)
	// A's cookie names A's Redis key, but B (another client) does not open it.
	if status, _, _ := withCookie(t, "GET", gwB.URL+"/app/from-a", ck, false); status != 401 {
		t.Errorf("app A's session cookie at gateway B: %d, want 401", status)
	}

	forB := map[string]any{"aud": "app-b"}
	for _, tc := range []struct{ name, sub, sid string }{{"by sub", "alice", ""}, {"by sid", "alice", "sid-alice"}} {
		if status, body, _ := postLogout(t, gwB, p.LogoutToken(tc.sub, tc.sid, forB)); status != 200 {
			t.Fatalf("%s: B refused a logout token for its client: %d %s", tc.name, status, body)
		}
		if status, _, _ := withCookie(t, "GET", gwA.URL+"/app/after-b", ck, false); status != 200 {
			t.Errorf("%s: a logout for app B's client ended the session of app A: %d, want 200", tc.name, status)
		}
	}
	if status, body, _ := postLogout(t, gwA, p.LogoutToken("alice", "", nil)); status != 200 {
		t.Fatalf("A refused a logout token for its client: %d %s", status, body)
	}
	if status, _, _ := withCookie(t, "GET", gwA.URL+"/app/after-a", ck, false); status != 401 {
		t.Errorf("a logout for app A's client left A's session: %d, want 401", status)
	}
}

// TestSharedSessionDecidedByEachGateway: two gateways of one client that
// share one Redis and the secrets share their sessions, and each decides
// them by its own routes: alice (group admins) signed in at A, whose routes
// admit any user, is refused at B, whose routes want the group ops.
func TestSharedSessionDecidedByEachGateway(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gwA := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	gwB := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Session: redisSession(rs.URL()), Upstream: up.URL, Routes: "\n[[routes]]\npath = \"/**\"\nallow_groups = [\"ops\"]\n"}.String())
	c := browser(t)
	loginThrough(t, c, gwA, "alice")
	ck := sessionCookie(t, c, gwA)
	before := up.count()
	if status, _, _ := withCookie(t, "GET", gwB.URL+"/app/on-b", ck, false); status != 403 || up.count() != before {
		t.Errorf("alice's session from A at B (group ops): %d, app reached %d times; want 403 and none", status, up.count()-before)
	}
	if status, _, _ := withCookie(t, "GET", gwA.URL+"/app/on-a", ck, false); status != 200 {
		t.Errorf("alice's session at A: %d, want 200", status)
	}
}
