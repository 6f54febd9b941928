package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestDueRefreshOnceAcrossReplicas: 3 rounds, each a burst of 40
// concurrent requests of one session split over two replicas sharing
// Redis while its access token is due (inside refresh_margin) but still
// valid, and the provider takes 300 ms to refresh. Each round makes
// exactly one refresh at a provider that rotates refresh tokens and
// refuses a spent one: no replica presents the token the other just spent
// (no refused refresh), and no round refreshes twice. A lock that does not
// hold fails round 1, a refresh recognised by its access token alone round
// 2 (TestDueRefreshOnceAccessTokenKept); the third round spends a token
// rotated twice, and more rounds only make the suite longer (4 s each).
func TestDueRefreshOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	dueRefreshRounds(t, 3, false, twoRedisReplicas(t))
}

// TestDueRefreshOnceCookieStore is TestDueRefreshOnceAcrossReplicas with
// the cookie store on one replica (the browser holds the refresh token:
// single-flight and the recent-refresh memory are what keep it to one
// refresh); the next round sends the refreshed cookie.
func TestDueRefreshOnceCookieStore(t *testing.T) {
	t.Parallel()
	dueRefreshRounds(t, 3, false, func(p *oidctest.Provider, up *upstream) []*gateway {
		cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, dueRefreshKeys)
		return []*gateway{startGateway(t, pickAddrs(t), cfg)}
	})
}

// TestDueRefreshOnceAccessTokenKept is TestDueRefreshOnceAcrossReplicas
// with a provider that answers every refresh with the same access token
// (and a new refresh token and expiry, no ID token): the replica that did not
// refresh sees the refresh by those, at once, instead of waiting for an
// access token that does not change (5 s per request) or presenting the
// spent refresh token again.
func TestDueRefreshOnceAccessTokenKept(t *testing.T) {
	t.Parallel()
	dueRefreshRounds(t, 3, true, twoRedisReplicas(t))
}

// twoRedisReplicas starts two gateways sharing one redis-server, for
// dueRefreshRounds.
func twoRedisReplicas(t *testing.T) func(*oidctest.Provider, *upstream) []*gateway {
	return func(p *oidctest.Provider, up *upstream) []*gateway {
		keys := redisSession(startRedis(t, false).URL()) + dueRefreshKeys
		cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, keys)
		return []*gateway{startGateway(t, pickAddrs(t), cfg), startGateway(t, pickAddrs(t), cfg)}
	}
}

// dueRefreshKeys are the [session] keys of the due-refresh tests: 10-second
// access tokens are due 4 s after they were issued.
const dueRefreshKeys = "refresh_margin = \"6s\"\nlifetime = \"10m\"\n"

// dueRefreshRounds runs rounds rounds of TestDueRefreshOnceAcrossReplicas
// on the gateways start returns; with keepAT, every refresh answers the
// same access token. A round whose burst outlasted the gap between a
// refresh and the next due time may make a second, legitimate refresh: the
// gap (4 s) is far above a burst's length (under 1 s on a loaded machine
// with -race), but 2.3 s was seen with the suite run five times at once on
// two cores. Such a round proves nothing either way, so it is logged and
// run again (at most maxSlowRounds times), rather than failed: every round
// counted had its burst within the gap and exactly one refresh, and the
// provider refused none of any round's refreshes. The next round's token
// is dated after the request that takes the refreshed cookie, which after
// a slow round refreshes the token again: dated before it, the next burst
// came before that token was due and made no refresh (0, want 1), and the
// gateways counted one more refresh than the rounds (6 succeeded of the 5
// made).
func dueRefreshRounds(t *testing.T, rounds int, keepAT bool, start func(*oidctest.Provider, *upstream) []*gateway) {
	const maxSlowRounds = 3
	p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 10 * time.Second, SlowDelay: 300 * time.Millisecond})
	gws := start(p, newUpstream(t))
	c := browser(t)
	loginThrough(t, c, gws[0], "alice")
	issued := time.Now() // the latest the current access token can have been issued
	ck := sessionCookie(t, c, gws[0])
	// A refresh that takes a while: requests arrive on every replica while
	// it is under way.
	faults := oidctest.FaultSlow
	if keepAT {
		p.SetTokenField("access_token", `"the-one-access-token"`)
		faults |= oidctest.FaultNoIDToken // its at_hash would name the token issued
	}
	p.SetFaults(faults)

	base, slow := p.Requests("/token"), 0 // rounds run again
	for round := 1; round <= rounds+slow; round++ {
		got, took := dueRound(t, p, issued, ck, gws)
		switch {
		case took >= dueGap && slow < maxSlowRounds:
			slow++
			t.Logf("round %d: the burst took %v, more than the %v until the refreshed token was due (%d refreshes): run again", round, took, dueGap, got)
		case took >= dueGap:
			t.Fatalf("round %d: the burst took %v, more than the %v until the refreshed token was due, in %d rounds", round, took, dueGap, slow+1)
		case got != 1:
			t.Errorf("round %d (burst of %v): %d refreshes at the provider, want 1", round, took, got)
		}
		// The cookie store's new cookie; the same one with Redis. After a
		// slow burst the token it refreshed may be due again: this request
		// refreshes it once more, so the next token is issued after it.
		ck = refreshedCookie(t, gws[0], ck)
		issued = time.Now()
	}
	made := p.Requests("/token") - base // in the rounds and between them
	succeeded := 0
	for _, gw := range gws {
		succeeded += refreshes(t, gw, "succeeded")
		if n := refreshes(t, gw, "invalid_grant"); n != 0 {
			t.Errorf("%s: %d refreshes refused (a spent refresh token presented again)", gw.URL, n)
		}
	}
	if succeeded != made {
		t.Errorf("%d refreshes succeeded of the %d made at the provider", succeeded, made)
	}
}

// dueGap is the due-refresh tests' access token life minus refresh_margin.
const dueGap = 4 * time.Second

// dueRound waits until ck's access token is due (dueGap after issued, the
// latest it can have been issued) and still valid, sends a burst of 40
// requests with it over gws and returns the refreshes the provider made
// and the burst's length.
func dueRound(t *testing.T, p *oidctest.Provider, issued time.Time, ck *http.Cookie, gws []*gateway) (int, time.Duration) {
	t.Helper()
	sleepUntil(issued.Add(dueGap + 100*time.Millisecond))
	tokens := p.Requests("/token")
	start := time.Now()
	bad := burst(t, 40, ck, gws...)
	took := time.Since(start)
	if len(bad) > 0 {
		t.Fatalf("%d of 40 failed, e.g. %s", len(bad), bad[0])
	}
	return p.Requests("/token") - tokens, took
}
