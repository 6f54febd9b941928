package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/nodeop"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// burst sends n concurrent API requests with ck, spread round-robin over
// gws, and returns the statuses that were not 200 (with a body each).
func burst(tb testing.TB, n int, ck *http.Cookie, gws ...*gateway) []string {
	tb.Helper()
	var mu sync.Mutex
	var bad []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body, _ := withCookie(tb, "GET", gws[i%len(gws)].URL+fmt.Sprintf("/app/burst/%d", i), ck, false)
			if status != 200 {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("%d %s", status, strings.TrimSpace(body)))
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return bad
}

// sleepUntil sleeps until t (the gateway's clock is the real one).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// TestRefreshBurstAndLifetime: 4-second access tokens, refreshed 2 s before
// expiry, a 16-second lifetime (2-second tokens left a loaded machine too
// little time: a first burst once saw no refresh). Once each is due a burst of 50 concurrent
// requests with one cookie causes exactly one refresh at the provider (first
// on one replica, then spread over two sharing Redis), and all succeed; the
// session ends at its lifetime although it keeps refreshing.
func TestRefreshBurstAndLifetime(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 4 * time.Second})
	up := newUpstream(t)
	keys := redisSession(rs.URL()) + "refresh_margin = \"2s\"\nlifetime = \"16s\"\n"
	cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, keys)
	gwA := startGateway(t, pickAddrs(t), cfg)
	gwB := startGateway(t, pickAddrs(t), cfg)
	c := browser(t)
	loginThrough(t, c, gwA, "alice")
	loginDone := time.Now() // the session and its first access token were made before
	ck := sessionCookie(t, c, gwA)
	rc := rs.Client()
	// One code exchange; its first request may have refreshed too when the
	// login took longer than the margin (2 s) after the token was issued.
	if n := p.Grants("authorization_code"); n != 1 {
		t.Fatalf("login made %d code exchanges", n)
	}

	// Each burst is timed from the latest its access token can have been
	// issued (the login's end, then the previous burst's), so that it is
	// due however long those took: the first within the margin, the second
	// expired. Timed from the login's start, a login slower than the first
	// step on a loaded machine left the first burst a token not yet due, and
	// no refresh.
	issued := loginDone
	for i, step := range []struct {
		after time.Duration
		gws   []*gateway
	}{{2400 * time.Millisecond, []*gateway{gwA}}, {4400 * time.Millisecond, []*gateway{gwA, gwB}}} {
		gws := step.gws
		sleepUntil(issued.Add(step.after))
		tokens := p.Requests("/token")
		calls := commandCalls(t, rc)
		if bad := burst(t, 50, ck, gws...); len(bad) > 0 {
			t.Fatalf("burst %d: %d of 50 failed, e.g. %s\nA:\n%s", i+1, len(bad), bad[0], gwA.Proc.Output())
		}
		issued = time.Now() // the burst's refresh issued the next token
		t.Logf("burst %d of 50 requests over %d replica(s) with one refresh: Redis commands %s", i+1, len(gws), callsDelta(calls, commandCalls(t, rc)))
		if got := p.Requests("/token") - tokens; got != 1 {
			t.Errorf("burst %d over %d replica(s): %d refreshes at the provider, want 1", i+1, len(gws), got)
		}
	}

	// The lifetime (16 s) leaves both bursts, which start 6.8 s after the
	// login plus the first burst's length, 9.2 s to finish on a loaded
	// machine.
	sleepUntil(loginDone.Add(16300 * time.Millisecond))
	before := up.count()
	for _, gw := range []*gateway{gwA, gwB} {
		if status, body, _ := withCookie(t, "GET", gw.URL+"/app/late", ck, false); status != http.StatusUnauthorized {
			t.Errorf("%s after the 16 s lifetime: %d, want 401\n%s", gw.URL, status, body)
		}
	}
	if up.count() != before {
		t.Error("a session past its lifetime reached the upstream")
	}
}

// TestRefreshProviderErrors tells a provider that fails (5xx) from one that
// refuses, with each store: a failing provider leaves a valid access token
// in use and ends nothing; once the access token has expired, a refresh the
// failing provider cannot make ends the session (deleted from Redis, the
// cookie cleared), and the same cookie does not work again once the
// provider is back. A refused refresh (the refreshed ID token names another
// sub) ends the session at once.
func TestRefreshProviderErrors(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			rs := startRedis(t, false)
			// An access token is within the margin 1 s after it was issued
			// and valid for 5 s more: a request 1.2 s after the sign-in
			// ended falls between the two even when that sign-in's last
			// steps (after the token was issued) are slow under -race.
			p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 6 * time.Second})
			up := newUpstream(t)
			keys := "refresh_margin = \"5s\"\n"
			if store == "redis" {
				keys += redisSession(rs.URL())
			}
			gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, keys))
			sessions := func() int { return len(rs.Client().Keys(t.Context(), "portcullis:s:*").Val()) }
			unrefreshedEnds(t, p, up, gw, sessions, store == "redis")
			refusedRefreshEnds(t, p, up, gw, sessions)
		})
	}
}

// unrefreshedEnds signs in and fails the provider (5xx): within the margin
// the request is served, once the access token has expired the session ends
// for good.
func unrefreshedEnds(t *testing.T, p *oidctest.Provider, up *upstream, gw *gateway, sessions func() int, redis bool) {
	t.Helper()
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	loggedIn := time.Now() // the access token was issued before
	ck := sessionCookie(t, c, gw)

	p.SetFaults(oidctest.FaultServerError)
	sleepUntil(loggedIn.Add(1200 * time.Millisecond)) // within the margin, not expired
	tokens := p.Requests("/token")
	if status, body, _ := withCookie(t, "GET", gw.URL+"/app/a", ck, false); status != 200 {
		t.Errorf("provider failing, access token still valid: %d\n%s", status, body)
	}
	if p.Requests("/token") == tokens {
		t.Error("no refresh was attempted within the margin")
	}
	sleepUntil(loggedIn.Add(6300 * time.Millisecond)) // expired
	status, _, hdr := withCookie(t, "GET", gw.URL+"/app/b", ck, false)
	if status != http.StatusUnauthorized || !clearsCookie(hdr, "portcullis") {
		t.Errorf("provider failing, access token expired: %d, Set-Cookie %q; want 401 clearing the session cookie", status, hdr.Values("Set-Cookie"))
	}
	if redis && sessions() != 0 {
		t.Error("the unrefreshed session is still in Redis")
	}
	if status, _, hdr := withCookie(t, "GET", gw.URL+"/app/nav", ck, true); status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), p.Issuer+"/") {
		t.Errorf("navigation after the session ended: %d to %q, want the sign-in at the provider", status, hdr.Get("Location"))
	}

	p.SetFaults(0)
	time.Sleep(5100 * time.Millisecond) // past the retry delay of a failed refresh
	tokens, before := p.Requests("/token"), up.count()
	if status, body, _ := withCookie(t, "GET", gw.URL+"/app/c", ck, false); status != http.StatusUnauthorized || up.count() != before || p.Requests("/token") != tokens {
		t.Errorf("the same cookie, provider back: %d, %d token requests, upstream reached %d times; want 401, none, none\n%s",
			status, p.Requests("/token")-tokens, up.count()-before, body)
	}
	wantLines(t, gw, "session ended: its access token expired and the provider could not refresh it")
}

// refusedRefreshEnds signs in again and has the provider's refreshed ID
// token name another sub: the session ends at that refresh.
func refusedRefreshEnds(t *testing.T, p *oidctest.Provider, up *upstream, gw *gateway, sessions func() int) {
	t.Helper()
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	// The new token is valid for 6 s and within the margin after 1 s.
	p.SetFaults(oidctest.FaultChangedSub)
	time.Sleep(1200 * time.Millisecond)
	before := up.count()
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/d", ck, false); status != http.StatusUnauthorized {
		t.Errorf("refreshed ID token for another sub: %d, want 401", status)
	}
	if up.count() != before || sessions() != 0 {
		t.Errorf("a refused refresh: upstream %d -> %d, %d sessions left", before, up.count(), sessions())
	}
}

// clearsCookie reports whether h sets cookie name expired.
func clearsCookie(h http.Header, name string) bool {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestRefreshTokenRevokedAtProvider uses node oidc-provider, whose logout
// revokes the grant: the next refresh gets invalid_grant and the session
// ends (API 401, browser back to the provider), in Redis too.
func TestRefreshTokenRevokedAtProvider(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	up := newUpstream(t)
	a := pickAddrs(t)
	op := nodeop.Start(t, nodeop.Options{AccessTokenTTL: 2 * time.Second, Clients: []nodeop.Client{{
		ID: "gw", Secret: "gw-secret", RedirectURIs: []string{"http://" + a.Listen + "/oauth2/callback"},
	}}})
	keys := redisSession(rs.URL()) + "refresh_margin = \"1s\"\n"
	gw := startGateway(t, a, redisGatewayConfig(op.Issuer, "gw", "gw-secret", up.URL, keys))
	c := browser(t)
	resp := op.Login(t, c, gw.URL+"/oauth2/start?rd=/app/home", "carol")
	resp.Body.Close()
	// The access token was issued before now, however long the login's
	// steps took (a sign-in form and a consent, at a Node.js provider):
	// timed from before the login, a login slower than 1.3 s left the
	// token neither expired nor due at the request below, and no refresh.
	loggedIn := time.Now()
	if resp.StatusCode != 200 || resp.Request.URL.Host != a.Listen {
		t.Fatalf("login: %d at %s\n%s", resp.StatusCode, resp.Request.URL, gw.Proc.Output())
	}
	ck := sessionCookie(t, c, gw)

	// The user signs out at the provider (not through the gateway).
	resp = op.Logout(t, c, op.EndSessionURL("", "", ""))
	resp.Body.Close()

	sleepUntil(loggedIn.Add(2300 * time.Millisecond))
	before := up.count()
	if status, body, _ := withCookie(t, "GET", gw.URL+"/app/after", ck, false); status != http.StatusUnauthorized {
		t.Errorf("after the grant was revoked: %d, want 401\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	status, _, hdr := withCookie(t, "GET", gw.URL+"/app/after", ck, true)
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), op.Issuer+"/") {
		t.Errorf("navigation after the grant was revoked: %d to %q, want the provider", status, hdr.Get("Location"))
	}
	if up.count() != before {
		t.Error("a session with a revoked grant reached the upstream")
	}
	if n := len(rs.Client().Keys(t.Context(), "portcullis:s:*").Val()); n != 0 {
		t.Errorf("%d sessions left in Redis after invalid_grant", n)
	}
}

// callsDelta formats the per-command difference of two commandCalls
// results, leaving out INFO and connection handshakes.
func callsDelta(before, after map[string]int) string {
	var parts []string
	for cmd, n := range after {
		if d := n - before[cmd]; d > 0 && cmd != "info" && cmd != "hello" && !strings.HasPrefix(cmd, "client") {
			parts = append(parts, fmt.Sprintf("%s=%d", cmd, d))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
