package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/nodeop"
)

// rotatingSetup starts node oidc-provider with 2-second access tokens and
// refresh tokens that rotate at every refresh (a spent one presented again
// revokes the whole grant, as Auth0, Okta and Keycloak do), two replicas
// sharing sessKeys (secrets are added), and logs carol in through the
// first; it returns both replicas and her session cookie, and when she
// signed in.
func rotatingSetup(t *testing.T, sessKeys string) (gws []*gateway, ck *http.Cookie, loggedIn time.Time) {
	up := newUpstream(t)
	a, b := pickAddrs(t), pickAddrs(t)
	op := nodeop.Start(t, nodeop.Options{AccessTokenTTL: 2 * time.Second, RotateRefreshTokens: true, Clients: []nodeop.Client{{
		ID: "gw", Secret: "gw-secret",
		RedirectURIs: []string{"http://" + a.Listen + "/oauth2/callback", "http://" + b.Listen + "/oauth2/callback"},
	}}})
	cfg := redisGatewayConfig(op.Issuer, "gw", "gw-secret", up.URL, sessKeys+"refresh_margin = \"1s\"\n")
	gws = []*gateway{startGateway(t, a, cfg), startGateway(t, b, cfg)}
	c := browser(t)
	loggedIn = time.Now()
	nodeLogin(t, op, c, gws[0], "carol")
	return gws, sessionCookie(t, c, gws[0]), loggedIn
}

// refreshes is the gateway's portcullis_refreshes_total of result.
func refreshes(tb testing.TB, gw *gateway, result string) int {
	tb.Helper()
	name := `portcullis_refreshes_total{result="` + result + `"} `
	for line := range strings.Lines(opsMetrics(tb, gw)) {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			return n
		}
	}
	return 0
}

// TestRotatingRefreshTokensNodeProvider: with a provider that rotates
// refresh tokens and revokes the grant when a spent one is presented again,
// a burst of requests of one session when its access token is due makes
// exactly one refresh and signs nobody out: on one replica (single-flight),
// and over two replicas sharing Redis (the store's lock).
func TestRotatingRefreshTokensNodeProvider(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		replicas int
	}{{"one replica", 1}, {"two replicas", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys := ""
			if tc.replicas == 2 {
				keys = redisSession(startRedis(t, false).URL())
			}
			gws, ck, loggedIn := rotatingSetup(t, keys)
			gws = gws[:tc.replicas]
			for round := 1; round <= 2; round++ {
				sleepUntil(loggedIn.Add(time.Duration(round) * 2200 * time.Millisecond))
				if bad := burst(t, 30, ck, gws...); len(bad) > 0 {
					t.Fatalf("round %d: %d of 30 failed, e.g. %s\n%s", round, len(bad), bad[0], gws[0].Proc.Output())
				}
				if tc.replicas == 1 {
					// The burst's answers set the refreshed cookie: carry it on.
					ck = refreshedCookie(t, gws[0], ck)
				}
			}
			got := 0
			for _, gw := range gws {
				got += refreshes(t, gw, "succeeded")
				if n := refreshes(t, gw, "invalid_grant"); n != 0 {
					t.Errorf("%s: %d refused refreshes", gw.URL, n)
				}
			}
			if got != 2 {
				t.Errorf("%d refreshes over two rounds, want 2", got)
			}
		})
	}
}

// refreshedCookie returns the session cookie gw sets for a request with ck,
// or ck when it sets none.
func refreshedCookie(tb testing.TB, gw *gateway, ck *http.Cookie) *http.Cookie {
	tb.Helper()
	_, _, hdr := withCookie(tb, "GET", gw.URL+"/app/cookie", ck, false)
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == ck.Name && c.Value != "" {
			return c
		}
	}
	return ck
}

// TestRotatingRefreshTokensCookieReplicas: two replicas with the cookie
// store have no lock to share: the browser holds the refresh token. When
// replica A has refreshed a session and B then gets a request with the same
// cookie, B presents the spent refresh token, and a provider that treats
// that as theft revokes the grant: the user is signed out on both replicas
// (docs/sessions.md, docs/operations.md "Several replicas"). It must end
// cleanly: B's answer is the 401 of an unauthenticated request with the
// cookie cleared, A's refreshed cookie is refused at its next refresh, and
// nothing reaches the app without a session.
func TestRotatingRefreshTokensCookieReplicas(t *testing.T) {
	t.Parallel()
	gws, ck, loggedIn := rotatingSetup(t, "")
	sleepUntil(loggedIn.Add(2200 * time.Millisecond))
	if st, body, _ := withCookie(t, "GET", gws[0].URL+"/app/a", ck, false); st != http.StatusOK {
		t.Fatalf("A's refresh: %d %s\n%s", st, body, gws[0].Proc.Output())
	}
	nck := refreshedCookie(t, gws[0], ck)
	if nck == ck {
		t.Fatal("A set no refreshed cookie")
	}
	st, body, hdr := withCookie(t, "GET", gws[1].URL+"/app/b", ck, false)
	if st != http.StatusUnauthorized || !strings.Contains(body, `"unauthenticated"`) {
		t.Errorf("B with the spent refresh token: %d %s, want the 401 of a signed-out user", st, body)
	}
	if cleared := (&http.Response{Header: hdr}).Cookies(); len(cleared) == 0 || cleared[0].MaxAge >= 0 {
		t.Errorf("B's answer does not clear the cookie: %v", hdr["Set-Cookie"])
	}
	if n := refreshes(t, gws[1], "invalid_grant"); n != 1 {
		t.Errorf("B: %d refused refreshes, want 1", n)
	}
	// The grant is gone: A's refreshed session ends at its next refresh.
	sleepUntil(loggedIn.Add(4400 * time.Millisecond))
	if st, body, _ := withCookie(t, "GET", gws[0].URL+"/app/later", nck, false); st != http.StatusUnauthorized {
		t.Errorf("A's refreshed cookie after the grant was revoked: %d %s, want 401", st, body)
	}
	if n := refreshes(t, gws[0], "invalid_grant"); n != 1 {
		t.Errorf("A: %d refused refreshes, want 1", n)
	}
}
