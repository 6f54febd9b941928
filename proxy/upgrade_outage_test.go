package proxy

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// TestUpgradeOutageHasABound: an open WebSocket whose rechecks cannot be
// made (the session store refuses or is gone) was kept with the identity it last had for as
// long as the outage lasted, while every request of the session was
// refused: a sign-out or `sessions revoke` made meanwhile was not acted
// on, and with an ACL that never lets the gateway read again, never up to
// the session's lifetime. It is now kept for upgradeUncheckedGrace after
// its last check that could be made, and closed after that.
func TestUpgradeOutageHasABound(t *testing.T) {
	outages := []struct {
		name  string
		start func(t *testing.T, f *fixture, addr string, p *testenv.Process)
	}{
		{"an ACL refusing every command", func(t *testing.T, _ *fixture, addr string, _ *testenv.Process) {
			setRedisACL(t, addr, "-@all")
		}},
		{"the redis-server stopped", func(_ *testing.T, _ *fixture, _ string, p *testenv.Process) { p.Stop() }},
		// (The provider unreachable for an expired access token ends the
		// session at the check, as at a request: TestUpgradeEndsWithUnrefreshedSession.)
	}
	for _, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			var addr string
			var p *testenv.Process
			f := newFixtureWith(t, echoUpgrade, func(c *Config) {
				addr, p = testenv.StartRedis(t)
				c.Sessions = redisStoreAt(t, addr, c.Now)
				c.UpgradeRecheck = 50 * time.Millisecond
			})
			conn, br := openUpgrade(t, f, cookieHeader(saveToStore(t, f.cfg.Sessions, f.session())))
			o.start(t, f, addr, p)
			time.Sleep(300 * time.Millisecond) // failing rechecks within the bound
			echoes(t, conn, br)
			f.clock.Advance(upgradeUncheckedGrace + time.Second)
			if !closedWithin(conn, br, 5*time.Second) {
				t.Errorf("the WebSocket was kept %v after its last check that could be made", upgradeUncheckedGrace+time.Second)
			}
		})
	}
}

// TestUpgradeEndsWithUnrefreshedSession: a Redis session's connection whose
// access token expires while the provider cannot be reached is checked as a
// request of the session would be: the check's refresh fails, which ends the
// session in the store, and the connection with it. Rechecks of the valid
// access token before that end nothing. Before, the session was kept and
// the connection closed a minute later, when no check could be made.
func TestUpgradeEndsWithUnrefreshedSession(t *testing.T) {
	f := newFixtureWith(t, echoUpgrade, func(c *Config) {
		c.Sessions = realRedisStore(t, c.Now)
		c.UpgradeRecheck = 50 * time.Millisecond
	})
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return nil, nil, errors.New("dial tcp: connection refused") // the provider is down
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(2 * time.Second) // due at once: each refresh fails
	cookies := saveToStore(t, f.cfg.Sessions, s)
	conn, br := openUpgrade(t, f, cookieHeader(cookies))
	time.Sleep(300 * time.Millisecond) // rechecks of a valid access token
	echoes(t, conn, br)
	f.clock.Advance(3 * time.Second)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Error("the WebSocket outlived its session's unrefreshed access token")
	}
	if _, err := f.cfg.Sessions.Load(withCookiesRequest(cookies)); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("the session is still in Redis (Load: %v)", err)
	}
}

// TestUpgradeBearerOutageHasABound: the same for a bearer token whose
// provider cannot be asked (introspection or JWKS unreachable, or not
// ready after a reload); its expiry ends it whatever the provider's state.
func TestUpgradeBearerOutageHasABound(t *testing.T) {
	for _, perr := range []error{idp.ErrUnavailable, idp.ErrNotReady} {
		t.Run(perr.Error(), func(t *testing.T) {
			f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
			f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
			f.prov.bearers["short"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Second)}
			conn, br := openUpgrade(t, f, "Authorization: Bearer ws\r\n")
			short, shortBr := openUpgrade(t, f, "Authorization: Bearer short\r\n")
			f.prov.mu.Lock()
			f.prov.verifyErr = perr
			f.prov.mu.Unlock()
			time.Sleep(300 * time.Millisecond)
			echoes(t, conn, br)
			if !closedWithin(short, shortBr, 5*time.Second) {
				t.Error("a WebSocket outlived its bearer token while the provider could not be asked")
			}
			f.clock.Advance(upgradeUncheckedGrace + time.Second)
			if !closedWithin(conn, br, 5*time.Second) {
				t.Errorf("the WebSocket was kept %v after its last check that could be made", upgradeUncheckedGrace+time.Second)
			}
		})
	}
}

// setRedisACL changes the rules of the gateway's user (default) on the
// Redis at addr, as an operator's ACL change does.
func setRedisACL(t *testing.T, addr, rule string) {
	t.Helper()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	if err := admin.Do(context.Background(), "ACL", "SETUSER", "default", rule).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestStreamOutageHasABound: an event stream and a long poll are rechecked
// as a WebSocket is: an event stream whose provider cannot be asked ends
// once upgradeUncheckedGrace has passed since its last check that could be
// made, and a long poll's late answer is replaced by the 503 a new request
// would get, where it was handed over.
func TestStreamOutageHasABound(t *testing.T) {
	release := make(chan struct{})
	var atApp atomic.Int32
	f := newFixtureWith(t, counted(&atApp, eventStream(release)))
	for _, tok := range []string{"sse", "poll"} {
		f.prov.bearers[tok] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	}
	done := startLongPoll(t, f, &atApp) // first: it waits for the application's first request
	br := openStream(t, f, "/app/events", "Authorization", "Bearer sse")
	f.prov.mu.Lock()
	f.prov.verifyErr = idp.ErrUnavailable
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second) // a failing lookup within the bound
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatalf("the event stream within the bound: %v", err)
	}
	f.clock.Advance(upgradeUncheckedGrace)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Errorf("the event stream was kept %v after its last check that could be made", 11*time.Second+upgradeUncheckedGrace)
	}
	close(release)
	wantLongPollRefused(t, done, http.StatusServiceUnavailable)
}

// TestUpgradeOutageKeepsTheLastCheckedIdentity: while its rechecks cannot
// be made, a connection is decided again with the identity its last check
// that could be made found, not the one it opened with: a user who lost a
// group meanwhile kept it, and a reload during the outage whose rules
// refuse the user as last seen left the connection open for the grace.
func TestUpgradeOutageKeepsTheLastCheckedIdentity(t *testing.T) {
	var live atomic.Pointer[Handler]
	var logs syncBuffer
	f := newFixtureWith(t, echoUpgrade, func(c *Config) {
		c.UpgradeRecheck = 50 * time.Millisecond
		c.Live = live.Load
	}, withDebugLog(&logs))
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Groups: []string{"staff", "ops"}, Expiry: f.clock.Now().Add(time.Hour)}
	conn, br := openUpgrade(t, f, "Authorization: Bearer ws\r\n")
	f.prov.mu.Lock() // introspection now states the user without ops: /app/** still allows it
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Groups: []string{"staff"}, Expiry: f.clock.Now().Add(time.Hour)}
	f.prov.mu.Unlock()
	awaitRecheck(t, func() int64 { return int64(f.prov.verifies.Load()) }, &logs) // a check that could be made
	echoes(t, conn, br)
	f.prov.mu.Lock()
	f.prov.verifyErr = idp.ErrUnavailable
	f.prov.mu.Unlock()
	live.Store(reloaded(t, f, stricter())) // /app/** for ops only
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("during an outage, the WebSocket was decided with the groups it opened with, not those of its last check")
	}
}
