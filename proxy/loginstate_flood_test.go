package proxy

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/redis/go-redis/v9"
)

// TestFailedCallbacksWriteNothingToRedis: with the Redis store, each
// callback that carried a state /start issued wrote a one-time marker to
// Redis for the state's remaining 10 minutes before anything else, so any
// client without an account filled Redis at its request rate: a /start and
// a callback with error=access_denied (no token request, no cap on them),
// or with a made-up code (one refused token request each). Redis must not
// evict (docs/sessions.md), so once full, every sign-in and session save
// failed. Only a completed sign-in now claims its state.
func TestFailedCallbacksWriteNothingToRedis(t *testing.T) {
	addr := startRedisServer(t)
	f := newFixture(t, func(c *Config) { c.Sessions = redisStoreAt(t, addr, c.Now) })
	f.prov.exchangeErr = fmt.Errorf("%w: invalid_grant", idp.ErrCodeRefused) // a made-up code
	raw := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { raw.Close() })
	const n = 20
	for i := range n {
		state, cookies := startLogin(t, f, "/app/")
		q := "error=access_denied&state=" + url.QueryEscape(state)
		want := http.StatusForbidden
		if i%2 == 1 {
			q = "code=made-up&state=" + url.QueryEscape(state)
			want = http.StatusBadRequest
		}
		if resp := f.do(t, "GET", "/oauth2/callback?"+q, nil, withCookies(cookies), browser()); resp.StatusCode != want {
			t.Fatalf("callback %s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	if got := onceKeys(t, raw); got != 0 {
		t.Errorf("%d failed callbacks left %d keys in Redis, want none", n, got)
	}
	// A completed sign-in still claims its state, once.
	state, cookies := startLogin(t, f, "/app/")
	f.prov.exchangeErr = nil
	callback := "/oauth2/callback?code=c0de&state=" + url.QueryEscape(state)
	if resp := f.do(t, "GET", callback, nil, withCookies(cookies), browser()); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	if got := onceKeys(t, raw); got != 1 {
		t.Errorf("a sign-in left %d one-time keys, want 1", got)
	}
}

// onceKeys counts the one-time markers (FirstUse) in Redis.
func onceKeys(tb testing.TB, raw *redis.Client) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	keys, err := raw.Keys(ctx, "portcullis:once:*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	return len(keys)
}

// TestCallbackCopiesAtOnceSignInOnce: a state is claimed after its code is
// redeemed, so two copies of one callback on two replicas at once both
// pass the read before the exchange; the claim before the session is saved
// lets one of them sign in and refuses the other.
func TestCallbackCopiesAtOnceSignInOnce(t *testing.T) {
	a, b := twoReplicasOnRedis(t)
	state, cookies := startLogin(t, a, "/app/")
	callback := "/oauth2/callback?code=c0de&state=" + url.QueryEscape(state)
	a.prov.mu.Lock() // holds both exchanges until both are under way
	statuses := make(chan int, 2)
	for _, f := range []*fixture{a, b} {
		go func() {
			resp := f.do(t, "GET", callback, nil, withCookies(cookies), browser())
			statuses <- resp.StatusCode
		}()
	}
	waitUntil(t, "both copies at the provider", func() bool { return a.prov.exchanges.Load() == 2 })
	a.prov.mu.Unlock()
	got := map[int]int{}
	for range 2 {
		got[<-statuses]++
	}
	if got[http.StatusFound] != 1 || got[http.StatusBadRequest] != 1 {
		t.Errorf("two copies of one callback at once: statuses %v, want one 302 and one 400", got)
	}
}
