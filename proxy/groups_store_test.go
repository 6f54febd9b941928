package proxy

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	var st *session.RedisStore
	var addr string
	f := newFixture(t, func(c *Config) {
		addr, _ = startRedisProcess(t)
		st = redisStoreAt(t, addr, c.Now)
		c.Sessions = st
	})
	dp := &directoryProvider{fakeProvider: f.prov}
	f.cfg.Provider, f.cfg.GroupsRefresh = dp, 10*time.Minute
	var err error
	if f.h, err = New(f.cfg); err != nil {
		t.Fatal(err)
	}
	s := f.session()
	s.Expiry, s.RefreshToken = time.Time{}, "" // no refresh: the directory read alone
	s.GroupsReadAt = f.clock.Now()
	cookies := saveToStore(t, st, s)
	dp.set([]string{"staff"}, nil) // removed from admins at the directory
	if resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK {
		t.Fatalf("fresh groups: status %d", resp.StatusCode)
	}

	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "default", "-get").Err(); err != nil {
		t.Fatal(err)
	}

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
