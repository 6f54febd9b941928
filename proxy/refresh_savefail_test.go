package proxy

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// TestRefreshSaveRetriedThroughAStoreFailure: the provider answered a
// refresh (rt-0 spent, rt-1 issued) and Redis refused the save of the
// refreshed session for a moment (a real Redis refusing writes, as one
// does during a failover: min-replicas-to-write with no replica, NOREPLICAS,
// for longer than the Redis client's one retry).
// The failure was logged and the request served, but the store kept the
// session with the spent rt-0: the next request on another replica (or on
// this one after 30 s) presented it, the provider refused it, and the
// session ended although every party was back. The save is now tried again
// while its commit bound lasts, under the refresh lock.
func TestRefreshSaveRetriedThroughAStoreFailure(t *testing.T) {
	addr := startRedisServer(t)
	fa, fb, prov, cookies := twoReplicas(t, addr, addr, 10*time.Second)
	raw := redis.NewClient(&redis.Options{Addr: addr})
	defer raw.Close()
	ctx := context.Background()
	defer raw.ConfigSet(ctx, "min-replicas-to-write", "0")
	refresh := prov.refresh(fa.clock.Now, fa.prov.identity)
	fa.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		t, id, err := refresh(rt)
		// From now on Redis refuses writes: the refreshed session's save.
		raw.ConfigSet(ctx, "min-replicas-to-write", "1")
		return t, id, err
	}
	fb.prov.refreshFn = prov.refresh(fb.clock.Now, fb.prov.identity)

	doneA := make(chan *http.Response, 1)
	go func() { doneA <- fa.do(t, "GET", "/app/x", nil, withCookies(cookies)) }()
	// Refused twice: the save and the Redis client's own retry of it.
	waitUntil(t, "Redis refusing the save and its retry", func() bool {
		return noReplicasRefusals(raw.Info(ctx, "errorstats").Val()) >= 2
	})
	raw.ConfigSet(ctx, "min-replicas-to-write", "0") // Redis takes writes again
	if resp := <-doneA; resp.StatusCode != http.StatusOK {
		t.Fatalf("replica A: %d", resp.StatusCode)
	}

	respB := fb.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if respB.StatusCode != http.StatusOK {
		t.Errorf("replica B: %d (Location %q): the session ended after Redis refused one save of its refresh",
			respB.StatusCode, respB.Header.Get("Location"))
	}
	s, err := fb.cfg.Sessions.Load(withCookiesRequest(cookies))
	if err != nil {
		t.Fatalf("session after the refresh: %v", err)
	}
	if full, err := fb.cfg.Sessions.Full(withCookiesRequest(cookies), s); err != nil || full.RefreshToken != "rt-1" {
		t.Errorf("stored session: %v, refresh token %q; want the refreshed one (rt-1)", err, full.RefreshToken)
	}
	if n := prov.calls.Load(); n != 1 {
		t.Errorf("%d refreshes at the provider, want 1", n)
	}
}

// noReplicasRefusals is the count of NOREPLICAS answers in Redis's INFO
// errorstats text.
func noReplicasRefusals(info string) int {
	_, rest, ok := strings.Cut(info, "errorstat_NOREPLICAS:count=")
	if !ok {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]))
	return n
}

// TestRetrySaveOnlyWhatMaySucceed: a refreshed session's failed save is
// tried again only when another try may succeed: a Redis-held session
// within its lifetime that the store still holds. A cookie-store session's
// failure, an ended session and one past its lifetime (a save that fails
// the same way each time) answer at once, not after the commit's 10 s.
func TestRetrySaveOnlyWhatMaySucceed(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	failed := errors.New("session: redis save: NOREPLICAS")
	held := &session.Session{ID: "id", ExpiresAt: now.Add(time.Hour)}
	for _, c := range []struct {
		name string
		err  error
		s    *session.Session
		want bool
	}{
		{"saved", nil, held, false},
		{"redis failed", failed, held, true},
		{"ended meanwhile", session.ErrNoSession, held, false},
		{"cookie store", failed, &session.Session{ExpiresAt: now.Add(time.Hour)}, false},
		{"past its lifetime", failed, &session.Session{ID: "id", ExpiresAt: now}, false},
	} {
		if got := retrySave(c.err, c.s, now); got != c.want {
			t.Errorf("%s: retrySave = %v, want %v", c.name, got, c.want)
		}
	}
}
