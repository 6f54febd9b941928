package e2e

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamPlantedSessionCookieIsNotSignedIn: mod_auth_openidc wrote a
// sign-in's identity into whatever session the browser presented, so a
// cookie planted in the victim's browser (by a sibling host, or a shared
// computer) kept its planter a handle on the victim's session. Here mallory
// signs in and plants her session cookie in alice's browser; alice signs in
// over it. With either store, alice gets a session cookie of her own, and
// mallory's cookie never identifies alice, before or after alice signs out:
// the cookie store leaves it mallory's, the Redis store ends mallory's
// session (401) when alice's sign-in starts, or at its callback when a link
// on another site started it.
func TestRedTeamPlantedSessionCookieIsNotSignedIn(t *testing.T) {
	t.Parallel() // its own Redis, provider, app and gateways
	rs := startRedis(t, false)
	for _, tc := range []struct{ store, session, site string }{
		{"cookie", "", "same-origin"}, {"cookie", "", "cross-site"},
		{"redis", redisSession(rs.URL()), "same-origin"}, {"redis", redisSession(rs.URL()), "cross-site"},
	} {
		store := tc.store
		t.Run(store+" "+tc.site, func(t *testing.T) {
			p := oidctest.New(t, oidctest.Options{})
			up := newUpstream(t)
			gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, tc.session))
			alice := oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com", "email_verified": true}}
			p.SetUser(oidctest.User{Subject: "mallory", Claims: map[string]any{"email": "mallory@example.com", "email_verified": true}})
			mallory := browser(t)
			loginThrough(t, mallory, gw, "mallory")
			planted := sessionCookie(t, mallory, gw)

			victim := browser(t)
			victim.Jar.SetCookies(mustURL(t, gw.URL), []*http.Cookie{{Name: planted.Name, Value: planted.Value, Path: "/"}})
			p.SetUser(alice)
			// The planted session is mallory's: alice's browser is let in as
			// mallory until the session ends or she signs in herself.
			if _, body, _ := get(t, victim, gw.URL+"/app/home"); decodeSeen(t, body).Headers.Get("X-Forwarded-User") != "mallory" {
				t.Fatalf("the planted cookie did not identify mallory: %s", body)
			}
			// The sign-in starts from the gateway's own page, or from a link
			// on another site (which ends no session at the start).
			req, _ := http.NewRequest("GET", gw.URL+"/oauth2/start?rd=%2Fapp%2Fhome", nil)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("Sec-Fetch-Site", tc.site)
			resp, err := victim.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loginThrough(t, victim, gw, "alice")
			if own := sessionCookie(t, victim, gw); own.Value == planted.Value {
				t.Errorf("alice signed in over the planted cookie and kept its value")
			}
			asMallory := func(when string) {
				t.Helper()
				status, body, _ := withCookie(t, "GET", gw.URL+"/app/home", planted, false)
				ok := status == http.StatusUnauthorized && store == "redis" ||
					status == http.StatusOK && store == "cookie" && decodeSeen(t, body).Headers.Get("X-Forwarded-User") == "mallory"
				if !ok {
					t.Errorf("%s, mallory's planted cookie: %d %.200s", when, status, body)
				}
			}
			asMallory("after alice signed in")
			get(t, victim, gw.URL+"/oauth2/sign_out")
			asMallory("after alice signed out")
		})
	}
}
