package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestEndedSessionRefusesEveryCopy: a session ends by a sign-out, a
// refresh the provider refuses (the grant revoked there) or an access
// token that expired while the provider could not refresh it, with each
// store on one replica and on two (the cookie store without affinity, the
// Redis store sharing a redis-server). The session had been refreshed
// moments before, so the cookie from before that refresh is still within
// the 30 s in which a replica hands the refreshed session to it (so that
// concurrent requests of one page do not present a spent refresh token).
// Once the session has ended, that copy, the current cookie and the same
// cookies on the other replica are all refused at once: a 401 for an API
// client, a redirect to the provider for a navigation, nothing upstream.
// Before, the replica that had refreshed handed the ended session to the
// pre-refresh cookie (200) for the rest of those 30 s.
func TestEndedSessionRefusesEveryCopy(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"cookie", "redis"} {
		for _, replicas := range []int{1, 2} {
			for _, end := range []string{"sign-out", "refused", "unreachable"} {
				t.Run(store+"/"+string(rune('0'+replicas))+"/"+end, func(t *testing.T) {
					t.Parallel()
					endedCopies(t, store, replicas, end)
				})
			}
		}
	}
}

// endedCopies runs one case of TestEndedSessionRefusesEveryCopy. Access
// tokens live 3 s and are due 1 s after they were issued.
func endedCopies(t *testing.T, store string, replicas int, end string) {
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 3 * time.Second})
	up := newUpstream(t)
	keys := "refresh_margin = \"2s\"\nlifetime = \"10m\"\n"
	if store == "redis" {
		keys = redisSession(startRedis(t, false).URL()) + keys
	}
	cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, keys)
	var gws []*gateway
	for range replicas {
		gws = append(gws, startGateway(t, pickAddrs(t), cfg))
	}
	a, b := gws[0], gws[len(gws)-1]
	c := browser(t)
	loginThrough(t, c, a, "alice")
	issued := time.Now() // the latest the access token can have been issued
	pre := sessionCookie(t, c, a)

	sleepUntil(issued.Add(1200 * time.Millisecond))
	status, _, hdr := withCookie(t, "GET", a.URL+"/app/refresh", pre, false)
	refreshed := time.Now()
	if status != http.StatusOK {
		t.Fatalf("the due request: %d\n%s", status, a.Proc.Output())
	}
	cur := replacedCookie(pre, hdr)

	switch end {
	case "sign-out":
		sleepUntil(refreshed.Add(1200 * time.Millisecond)) // the refreshed token is due too
		if st, _, _ := withCookie(t, "GET", b.URL+"/oauth2/sign_out", cur, true); st != http.StatusFound {
			t.Fatalf("sign-out: %d", st)
		}
	case "refused":
		p.RevokeGrants()
		sleepUntil(refreshed.Add(1200 * time.Millisecond))
	case "unreachable":
		p.SetFaults(oidctest.FaultServerError)
		sleepUntil(refreshed.Add(3200 * time.Millisecond)) // the refreshed token has expired
	}
	if end != "sign-out" {
		if st, body, _ := withCookie(t, "GET", b.URL+"/app/ending", cur, false); st != http.StatusUnauthorized {
			t.Fatalf("the request that ends the session: %d, want 401\n%s", st, body)
		}
	}
	if time.Since(refreshed) > 25*time.Second {
		t.Fatalf("too slow: the pre-refresh cookie is no longer within its 30 s")
	}
	before := up.count()
	for _, gw := range gws {
		for name, ck := range map[string]*http.Cookie{"pre-refresh": pre, "current": cur} {
			if st, _, _ := withCookie(t, "GET", gw.URL+"/app/after", ck, false); st != http.StatusUnauthorized {
				t.Errorf("%s: the %s cookie after the session ended (%s): %d, want 401", gw.URL, name, end, st)
			}
			st, _, h := withCookie(t, "GET", gw.URL+"/app/after", ck, true)
			if st != http.StatusFound || !strings.HasPrefix(h.Get("Location"), p.Issuer+"/") {
				t.Errorf("%s: navigation with the %s cookie after the session ended (%s): %d to %q, want the provider",
					gw.URL, name, end, st, h.Get("Location"))
			}
		}
	}
	if n := up.count() - before; n != 0 {
		t.Errorf("%d requests of an ended session reached the upstream", n)
	}
}

// replacedCookie is the session cookie an answer set in place of ck (the
// cookie store's refreshed session), or ck when it set none (Redis).
func replacedCookie(ck *http.Cookie, hdr http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: hdr}).Cookies() {
		if c.Name == ck.Name && c.Value != "" {
			return c
		}
	}
	return ck
}

// TestForwardAuthEndedSessionRefusesPreRefreshCookie is
// TestEndedSessionRefusesEveryCopy in forward-auth mode behind Caddy,
// cookie store, the grant revoked at the provider: the decision the front
// proxy asks for with the pre-refresh cookie is a refusal too.
func TestForwardAuthEndedSessionRefusesPreRefreshCookie(t *testing.T) {
	t.Parallel()
	s := behindFrontWith(t, "127.0.0.1/32", startCaddy,
		oidctest.Options{AccessTokenLifetime: 3 * time.Second}, "refresh_margin = \"2s\"\nlifetime = \"10m\"\n")
	front := &gateway{URL: "http://" + s.front}
	c := browser(t)
	if status, body, _ := get(t, c, front.URL+"/hello"); status != http.StatusOK {
		t.Fatalf("login: %d %s", status, body)
	}
	issued := time.Now()
	pre := sessionCookie(t, c, front)
	sleepUntil(issued.Add(1200 * time.Millisecond))
	status, _, hdr := withCookie(t, "GET", front.URL+"/hello", pre, false)
	refreshed := time.Now()
	if status != http.StatusOK {
		t.Fatalf("the due request: %d", status)
	}
	cur := replacedCookie(pre, hdr)
	if cur == pre {
		t.Fatal("the front proxy passed on no refreshed cookie")
	}
	s.p.RevokeGrants()
	sleepUntil(refreshed.Add(1200 * time.Millisecond))
	if st, _, _ := withCookie(t, "GET", front.URL+"/hello", cur, false); st != http.StatusUnauthorized {
		t.Fatalf("the request that ends the session: %d, want 401", st)
	}
	before := s.up.count()
	for name, ck := range map[string]*http.Cookie{"pre-refresh": pre, "current": cur} {
		if st, _, _ := withCookie(t, "GET", front.URL+"/hello", ck, false); st != http.StatusUnauthorized {
			t.Errorf("the %s cookie after the session ended: %d, want 401", name, st)
		}
	}
	if n := s.up.count() - before; n != 0 {
		t.Errorf("%d requests of an ended session reached the app", n)
	}
}
