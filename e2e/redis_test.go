package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// loginThrough logs c in through gw at the auto-login oidctest provider and
// checks that the upstream saw the user.
func loginThrough(tb testing.TB, c *http.Client, gw *gateway, wantUser string) {
	tb.Helper()
	status, body, resp := get(tb, c, gw.URL+"/app/home")
	if status != 200 || resp.Request.URL.Host != strings.TrimPrefix(gw.URL, "http://") {
		tb.Fatalf("login through %s: %d at %s\n%s\ngateway:\n%s", gw.URL, status, resp.Request.URL, body, gw.Proc.Output())
	}
	if got := decodeSeen(tb, body).Headers.Get("X-Forwarded-User"); got != wantUser {
		tb.Fatalf("upstream saw user %q, want %q", got, wantUser)
	}
}

// TestRedisReplicasShareSessions runs two gateways on one Redis: a login on A
// works on B, and sign-out on B ends the session on A.
func TestRedisReplicasShareSessions(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL()))
	gwA := startGateway(t, pickAddrs(t), cfg)
	gwB := startGateway(t, pickAddrs(t), cfg)

	c := browser(t)
	loginThrough(t, c, gwA, "alice")
	ck := sessionCookie(t, c, gwA)
	if len(ck.Value) > 200 {
		t.Errorf("redis-store cookie is %d bytes; it should carry only a sealed id", len(ck.Value))
	}
	status, body, _ := withCookie(t, "GET", gwB.URL+"/app/on-b", ck, false)
	if status != 200 || decodeSeen(t, body).Headers.Get("X-Forwarded-User") != "alice" {
		t.Fatalf("the session from A on B: %d\n%s", status, body)
	}
	tokens := p.Requests("/token")

	// Sign out on B with the same cookie.
	status, _, hdr := withCookie(t, "GET", gwB.URL+"/oauth2/sign_out?rd=/public/bye", ck, true)
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), p.Issuer+"/end_session?") {
		t.Fatalf("sign_out on B: %d to %q", status, hdr.Get("Location"))
	}
	if p.Requests("/revoke") != 1 {
		t.Errorf("sign-out revoked %d tokens at the provider, want 1", p.Requests("/revoke"))
	}

	// The old cookie is dead on A: API 401, browser navigation to the provider.
	before := up.count()
	status, _, hdr = withCookie(t, "GET", gwA.URL+"/app/after", ck, false)
	if status != http.StatusUnauthorized || hdr.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("API request on A after sign-out on B: %d %q, want 401 Bearer", status, hdr.Get("WWW-Authenticate"))
	}
	status, _, hdr = withCookie(t, "GET", gwA.URL+"/app/after", ck, true)
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), p.Issuer+"/authorize?") {
		t.Errorf("navigation on A after sign-out on B: %d to %q, want 302 to the provider", status, hdr.Get("Location"))
	}
	if up.count() != before {
		t.Error("a signed-out cookie reached the upstream")
	}
	if p.Requests("/token") != tokens {
		t.Error("a signed-out cookie caused a token request")
	}
	if keys := rs.Client().Keys(t.Context(), "portcullis:s:*").Val(); len(keys) != 0 {
		t.Errorf("session keys left in Redis after sign-out: %d", len(keys))
	}
}

// TestRedisRoundTripsPerRequest measures, with INFO commandstats, what an
// authenticated request costs in Redis on the hot path (no refresh): one
// GETRANGE of a few bytes.
func TestRedisRoundTripsPerRequest(t *testing.T) {
	t.Parallel()
	rs, _, _, gw, _, ck := redisLoggedIn(t, false)
	withCookie(t, "GET", gw.URL+"/app/warm", ck, false)

	rc := rs.Client()
	before := commandCalls(t, rc)
	const n = 200
	start := time.Now()
	for i := range n {
		if status, body, _ := withCookie(t, "GET", gw.URL+"/app/x", ck, false); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	elapsed := time.Since(start)
	after := commandCalls(t, rc)
	total, other := 0, []string{}
	for cmd, calls := range after {
		d := calls - before[cmd]
		// The INFO that reads the counters, and the handshake of a
		// connection go-redis may open, are not requests' commands.
		if d == 0 || cmd == "info" || cmd == "hello" || strings.HasPrefix(cmd, "client") {
			continue
		}
		total += d
		if cmd != "getrange" {
			other = append(other, cmd)
		}
	}
	// The session was opened by the warm-up request: each further one
	// only proves its stored value unchanged (GETRANGE of the value's tag).
	checks := after["getrange"] - before["getrange"]
	t.Logf("redis store: %d authenticated requests: %d GETRANGE, %d Redis commands in all = %.2f per request; %v per request end to end",
		n, checks, total, float64(total)/n, elapsed/n)
	if checks != n || total != n {
		slices.Sort(other)
		t.Errorf("%d requests cost %d GETRANGEs and %d commands in all (others: %v); want exactly one GETRANGE each", n, checks, total, other)
	}
}

// TestRedisOutage kills Redis under a logged-in session: the gateway answers
// 503 (never a login loop, never an unauthenticated pass), turns not ready,
// and recovers by itself when Redis returns with its data. Then the provider
// goes away, and the valid session keeps working.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rs, p, up, gw, _, ck := redisLoggedIn(t, true)

	rs.Stop()
	before, authz := up.count(), p.Requests("/authorize")
	cases := []struct {
		name        string
		html        bool
		contentType string
	}{{"page", true, "text/html"}, {"JSON", false, "application/json"}}
	for _, tc := range cases {
		start := time.Now()
		status, body, hdr := withCookie(t, "GET", gw.URL+"/app/during", ck, tc.html)
		if status != http.StatusServiceUnavailable || !strings.HasPrefix(hdr.Get("Content-Type"), tc.contentType) {
			t.Errorf("%s with Redis down: %d %q\n%s", tc.name, status, hdr.Get("Content-Type"), body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s with Redis down took %v", tc.name, d)
		}
		if !tc.html {
			var e struct{ Error string }
			if json.Unmarshal([]byte(body), &e); e.Error == "" {
				t.Errorf("503 JSON without an error member: %s", body)
			}
		}
	}
	// A request without a cookie has no session to lose: it still logs in
	// (or is refused), it is never forwarded.
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/anon", nil, false); status != http.StatusUnauthorized {
		t.Errorf("anonymous API request with Redis down: %d, want 401", status)
	}
	if up.count() != before || p.Requests("/authorize") != authz {
		t.Errorf("with Redis down: upstream %d -> %d, logins %d -> %d", before, up.count(), authz, p.Requests("/authorize"))
	}
	// A new login cannot store its session: a 503 page at the callback,
	// not a redirect back into another login.
	if status, _, resp := get(t, browser(t), gw.URL+"/app/new"); status != http.StatusServiceUnavailable || resp.Request.URL.Path != "/oauth2/callback" {
		t.Errorf("login with Redis down: %d at %s, want 503 at the callback", status, resp.Request.URL.Path)
	}
	if up.count() != before || p.Requests("/authorize") != authz+1 {
		t.Errorf("login with Redis down: upstream %d -> %d, authorize %d -> %d (want one)", before, up.count(), authz, p.Requests("/authorize"))
	}
	if status := opsStatus(t, gw, "/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d, want 503", status)
	}

	rs.Start()
	deadline := time.Now().Add(5 * time.Second)
	status := 0
	for time.Now().Before(deadline) {
		if status, _, _ = withCookie(t, "GET", gw.URL+"/app/after", ck, false); status == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("after Redis came back: %d; gateway:\n%s", status, gw.Proc.Output())
	}
	if s := opsStatus(t, gw, "/readyz"); s != 200 {
		t.Errorf("/readyz after recovery: %d", s)
	}

	// The provider goes away: the session (access token valid for an hour)
	// keeps working without it.
	p.Server.Close()
	if status, body, _ := withCookie(t, "GET", gw.URL+"/app/no-provider", ck, false); status != 200 {
		t.Errorf("with the provider gone: %d\n%s", status, body)
	}
}

func opsStatus(tb testing.TB, gw *gateway, path string) int {
	tb.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
	resp, err := c.Get(gw.OpsURL + path)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRedisSentinelFailover logs in through a gateway on Redis Sentinel,
// kills the master, and checks that the gateway follows the promoted
// replica by itself: the replicated session still loads, and new logins work.
func TestRedisSentinelFailover(t *testing.T) {
	t.Parallel()
	s := startSentinel(t)
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	keys := "store = \"redis\"\nredis_sentinel_addrs = [\"" + s.SentinelAddr + "\"]\nredis_sentinel_master = \"" + sentinelMaster + "\"\n"
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, keys))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	// The session reached the replica before the master dies.
	if n, err := s.Master.Client().Wait(t.Context(), 1, 2000).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d replicas acknowledged (%v)", n, err)
	}

	start := time.Now()
	s.Master.Stop()
	var status int
	var body string
	for time.Now().Before(start.Add(15 * time.Second)) {
		status, body, _ = withCookie(t, "GET", gw.URL+"/app/after-failover", ck, false)
		if status == 200 {
			break
		}
		if status != http.StatusServiceUnavailable {
			t.Fatalf("during failover: %d, want 503 until the replica is promoted\n%s", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status != 200 {
		t.Fatalf("session after failover: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
	}
	t.Logf("sentinel failover: the session loads again %v after the master was killed", time.Since(start).Round(100*time.Millisecond))
	if got := s.masterAddr(t); got != s.Replica.Addr {
		t.Errorf("sentinel names %s as master, want the promoted replica %s", got, s.Replica.Addr)
	}
	// A new login is stored on the new master.
	loginThrough(t, browser(t), gw, "alice")
	if n := len(s.Replica.Client().Keys(t.Context(), "portcullis:s:*").Val()); n != 2 {
		t.Errorf("the promoted replica holds %d sessions, want 2", n)
	}
}
