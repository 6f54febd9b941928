package proxy

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/session"
)

// TestCallbackClaimOutlivesTheStateOnEveryReplica: the Redis key that makes
// a login state single-use across replicas lived until the state's issue
// (by the clock of the replica that issued it) plus 10 minutes, counted on
// the clock of the replica that completed the sign-in. Replicas whose
// clocks differ by d shortened it by d: a state issued by a replica 3
// minutes behind and completed at one on time was claimed for 7 minutes,
// while the replica behind accepts it for 10, and a copy of the callback
// replayed to it in the last 3 was redeemed again. The claim now lasts
// the state's whole validity and the logout markers' 2-minute margin from
// its first use, whatever the clocks say.
func TestCallbackClaimOutlivesTheStateOnEveryReplica(t *testing.T) {
	addr := startRedisServer(t)
	a := newFixture(t, func(c *Config) { c.Sessions = redisStoreAt(t, addr, c.Now) })
	behind := func() time.Time { return a.clock.Now().Add(-3 * time.Minute) }
	b := replicaWithClock(t, a, addr, behind)

	state, cookies := startLogin(t, b, "/app/")
	callback := "/oauth2/callback?code=c0de&state=" + url.QueryEscape(state)
	if resp := a.do(t, "GET", callback, nil, withCookies(cookies), browser()); resp.StatusCode != http.StatusFound {
		t.Fatalf("the callback: %d", resp.StatusCode)
	}
	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer raw.Close()
	keys := raw.Keys(context.Background(), "portcullis:once:*").Val()
	if len(keys) != 1 {
		t.Fatalf("one-time keys: %v, want one", keys)
	}
	// The replica behind accepts the state until its clock reads the
	// issue plus 10 minutes: 10 minutes from now.
	if ttl := raw.PTTL(context.Background(), keys[0]).Val(); ttl < session.LoginStateTTL-time.Second {
		t.Errorf("the claim lives %v; the replica 3 minutes behind accepts the state for %v more", ttl, session.LoginStateTTL)
	}
}

// replicaWithClock returns another replica of a on the Redis at addr, with
// the same secrets and provider and its own clock and memory of states.
func replicaWithClock(t *testing.T, a *fixture, addr string, now func() time.Time) *fixture {
	t.Helper()
	bf := *a
	cc := a.cookie
	cc.Now = now
	states, err := session.NewStateCookies(cc)
	if err != nil {
		t.Fatal(err)
	}
	bf.cfg.Now, bf.cfg.LoginStates, bf.states = now, states, states
	bf.cfg.Sessions = redisStoreAt(t, addr, now)
	if bf.h, err = New(bf.cfg); err != nil {
		t.Fatal(err)
	}
	return &bf
}
