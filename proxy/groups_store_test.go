package proxy

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// TestGroupsPastStaleLimitNeedTheStore: a directory read needs the
// session's tokens (session.Store.Full). When Redis answers the session's
// check but refuses to give its value (here an ACL that no longer lets the
// gateway GET, as a misconfigured ACL does; a Redis failing between the two
// reads is the same), the last groups were kept for ever; past
// groupsMaxStale they were kept as when the directory fails. Past that
// limit the request is now a 503, as when the session cannot be read.
func TestGroupsPastStaleLimitNeedTheStore(t *testing.T) {
	var addr string
	f := newFixture(t, redisAt(t, &addr))
	dp := withDirectory(t, f)
	cookies := saveToStore(t, f.cfg.Sessions, directorySession(f))
	dp.set([]string{"staff"}, nil) // removed from admins at the directory
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh groups: status %d", resp.StatusCode)
	}
	refuseGet(t, addr)

	f.clock.Advance(11 * time.Minute)
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK || dp.count() != 0 {
		t.Fatalf("within the staleness limit: status %d, directory asked %d times; want the last groups kept", resp.StatusCode, dp.count())
	}
	f.clock.Advance(groupsMaxStale)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusServiceUnavailable || dp.count() != 0 {
		t.Errorf("groups read %v ago, the session's tokens unreadable: status %d, directory asked %d times; want 503",
			11*time.Minute+groupsMaxStale, resp.StatusCode, dp.count())
	}
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a route any signed-in user may use: status %d; want 503", resp.StatusCode)
	}
}

// TestUpgradePastStaleLimitNeedsTheStore: an open WebSocket of a session
// whose tokens the store cannot give for a due directory read stays open
// while the last groups may be kept, and ends after that, as the session's
// requests are refused then.
func TestUpgradePastStaleLimitNeedsTheStore(t *testing.T) {
	var addr string
	f := newFixtureWith(t, echoUpgrade, redisAt(t, &addr), func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
	dp := withDirectory(t, f)
	conn, br := openUpgrade(t, f, cookieHeader(saveToStore(t, f.cfg.Sessions, directorySession(f))))
	echoes(t, conn, br)
	refuseGet(t, addr)

	f.clock.Advance(11 * time.Minute)
	time.Sleep(200 * time.Millisecond) // rechecks within the staleness limit
	echoes(t, conn, br)
	f.clock.Advance(groupsMaxStale)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Errorf("the WebSocket outlived groups read %v ago that the store could not let be read again (directory asked %d times)",
			11*time.Minute+groupsMaxStale, dp.count())
	}
}

// TestLongPollPastStaleLimitNeedsTheStore: a long poll's late answer is
// what a new request of the session would get: past the staleness limit,
// groups the store cannot let be read again are a 503 (the session is
// valid, the store failing), not the 401 of an ended session, which sends
// a client to sign in again.
func TestLongPollPastStaleLimitNeedsTheStore(t *testing.T) {
	var addr string
	release := make(chan struct{})
	var atApp atomic.Int32
	f := newFixtureWith(t, counted(&atApp, eventStream(release)), redisAt(t, &addr))
	withDirectory(t, f)
	cookies := saveToStore(t, f.cfg.Sessions, directorySession(f))
	var pairs []string
	for _, c := range cookies {
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	done := startLongPollWith(t, f, &atApp, "Cookie", strings.Join(pairs, "; "))
	refuseGet(t, addr)
	f.clock.Advance(11*time.Minute + groupsMaxStale)
	close(release)
	wantLongPollRefused(t, done, http.StatusServiceUnavailable)
}

// redisAt is a fixture option: a Redis store on a redis-server of its
// own, whose address it writes to addr.
func redisAt(t *testing.T, addr *string) func(*Config) {
	return func(c *Config) {
		*addr, _ = testenv.StartRedis(t)
		c.Sessions = redisStoreAt(t, *addr, c.Now)
	}
}

// withDirectory gives f's gateway a provider whose groups come from a
// directory read again every 10 minutes.
func withDirectory(t *testing.T, f *fixture) *directoryProvider {
	t.Helper()
	dp := &directoryProvider{fakeProvider: f.prov}
	f.cfg.Provider, f.cfg.GroupsRefresh = dp, 10*time.Minute
	var err error
	if f.h, err = New(f.cfg); err != nil {
		t.Fatal(err)
	}
	return dp
}

// directorySession is a session whose groups the directory gave now and
// that never refreshes, so the directory read is all that is due later.
func directorySession(f *fixture) *session.Session {
	s := f.session()
	s.Expiry, s.RefreshToken = time.Time{}, ""
	s.GroupsReadAt = f.clock.Now()
	return s
}

// refuseGet makes the Redis at addr refuse GET to the gateway's user (an
// ACL without it): a session's check (GETRANGE) still passes, reading its
// tokens (session.Store.Full) fails.
func refuseGet(t *testing.T, addr string) {
	t.Helper()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "default", "-get").Err(); err != nil {
		t.Fatal(err)
	}
}
