package proxy

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// cookieHeader is the Cookie header line of cs.
func cookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.String())
	}
	return "Cookie: " + strings.Join(parts, "; ") + "\r\n"
}

// redisUpgradeFixture is a gateway with the Redis store and an upstream
// that echoes upgraded connections, rechecking them every 50 ms.
func redisUpgradeFixture(t *testing.T) (*fixture, *session.RedisStore) {
	var st *session.RedisStore
	f := newFixtureWith(t, echoUpgrade, func(c *Config) {
		st = realRedisStore(t, c.Now)
		c.Sessions = st
		c.UpgradeRecheck = 50 * time.Millisecond
	})
	return f, st
}

// TestUpgradeEndsWhenRefreshRefused (Redis store): a user disabled at the
// provider opens a WebSocket (a web terminal, a live console) just before.
// Every request of the session ends once its access token is due and the
// provider refuses the refresh (invalid_grant), but the connection was only
// ever checked for the session's presence in Redis, which nothing removed
// when the socket was the session's only traffic: it stayed open to the
// session's lifetime (12 h here), long after the access token expired.
func TestUpgradeEndsWhenRefreshRefused(t *testing.T) {
	f, st := redisUpgradeFixture(t)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return nil, nil, idp.ErrInvalidGrant // the user was disabled
	}
	conn, br := openUpgrade(t, f, cookieHeader(saveToStore(t, st, f.session())))
	time.Sleep(200 * time.Millisecond) // rechecks of a session not yet due
	echoes(t, conn, br)
	f.clock.Advance(time.Hour) // the access token has expired
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatalf("the WebSocket outlived its session's access token, whose refresh the provider refuses (%d refresh attempts)",
			f.prov.refreshes.Load())
	}
}

// TestUpgradeEndsWhenRefreshTokenRevoked (cookie store): the user signs out
// with the cookie a WebSocket was opened with; the sign-out revokes the
// refresh token and the gateway remembers it dead, so a request with a copy
// of that cookie is anonymous once the access token is due. The WebSocket's
// copy was never looked at again and stayed open to the session's lifetime.
func TestUpgradeEndsWhenRefreshTokenRevoked(t *testing.T) {
	loads, logs := &loadCounter{}, &syncBuffer{}
	f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond }, loads.wrap, withDebugLog(logs))
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		t.Error("the provider was asked to refresh a revoked refresh token")
		return nil, nil, idp.ErrInvalidGrant
	}
	cookies := f.cookies(t, f.session())
	conn, br := openUpgrade(t, f, cookieHeader(cookies))
	if out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(cookies)); out.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", out.StatusCode)
	}
	awaitRecheck(t, loads.loads.Load, logs) // a recheck while the access token is valid sees the mark
	echoes(t, conn, br)
	f.clock.Advance(time.Hour) // the access token has expired, and the mark with it (deadRefreshTTL)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived its session's access token, whose refresh token was revoked at sign-out")
	}
}

// TestUpgradeRefreshedKeepsSocket (Redis store): a due access token that
// the provider renews does not end the connection, and the renewal is
// saved for the session's requests.
func TestUpgradeRefreshedKeepsSocket(t *testing.T) {
	f, st := redisUpgradeFixture(t)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	cookies := saveToStore(t, st, f.session())
	conn, br := openUpgrade(t, f, cookieHeader(cookies))
	f.clock.Advance(time.Hour)
	// A recheck (every 50 ms) renews the token; a loaded machine under
	// -race may take far longer than that to run one, so the test waits
	// for the renewal to be saved rather than for a fixed time.
	var stored string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if stored = storedRefreshToken(st, cookies); stored == "rt-1" {
			break
		}
	}
	echoes(t, conn, br)
	if n := f.prov.refreshes.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if stored != "rt-1" {
		t.Errorf("stored refresh token after the renewal: %q, want rt-1", stored)
	}
}

// storedRefreshToken is the refresh token st holds for cookies' session,
// or "" when it holds none.
func storedRefreshToken(st *session.RedisStore, cookies []*http.Cookie) string {
	s, err := st.Load(withCookiesRequest(cookies))
	if err == nil {
		s, err = st.Full(withCookiesRequest(cookies), s)
	}
	if err != nil {
		return ""
	}
	return s.RefreshToken
}

// TestUpgradeRefreshedOnTheWayEndsWithNewToken (cookie store): the request
// that opened the WebSocket refreshed the session on the way, and the
// provider rotated the refresh token (rt-0 → rt-1). A sign-out with the new
// cookie revokes rt-1; the connection watched the cookie it was opened
// with, which holds rt-0, and so stayed open to the session's lifetime.
func TestUpgradeRefreshedOnTheWayEndsWithNewToken(t *testing.T) {
	loads, logs := &loadCounter{}, &syncBuffer{}
	f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond }, loads.wrap, withDebugLog(logs))
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(30 * time.Second) // due: refreshed by the upgrade request
	conn, br := openUpgrade(t, f, cookieHeader(f.cookies(t, s)))
	if n := f.prov.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes on the way = %d, want 1", n)
	}
	time.Sleep(200 * time.Millisecond)
	echoes(t, conn, br)
	f.h.refresher.markDead("rt-1") // what a sign-out with the new cookie does
	// The cookie the connection carries holds a due access token: the
	// first recheck that sees the mark ends the connection.
	awaitRecheck(t, loads.loads.Load, logs)
	f.clock.Advance(time.Hour)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived the refresh token its session was refreshed to, revoked at sign-out")
	}
}

// TestUpgradeFollowsRotationAcrossReload (cookie store): the browser's
// request refreshed the session before a reload (rt-0 → rt-1, recorded by
// the generation before it), and the sign-out after the reload revokes
// rt-1 on the new one, which checks the open connection from then on. A
// reload (a route edited, a SIGHUP) started an empty memory of rotations:
// the connection, still watching rt-0, stayed open to the session's
// lifetime.
func TestUpgradeFollowsRotationAcrossReload(t *testing.T) {
	loads, logs := &loadCounter{}, &syncBuffer{}
	f, reload := reloadableUpgradeFixture(t, loads.wrap, withDebugLog(logs))
	f.h.refresher.rotated("rt-0", "rt-1") // the browser's refresh
	next := reload()
	conn, br := openUpgrade(t, f, cookieHeader(f.cookies(t, f.session())))
	time.Sleep(200 * time.Millisecond)
	echoes(t, conn, br)
	next.refresher.markDead("rt-1")         // the sign-out after the reload
	awaitRecheck(t, loads.loads.Load, logs) // a recheck while the access token is valid sees the mark
	f.clock.Advance(time.Hour)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived a sign-out that revoked its session's rotated refresh token after a reload")
	}
}

// TestSignOutBeforeReloadEndsSocket (cookie store): a sign-out revokes the
// session's refresh token on the generation in force, and a reload (a
// route edited, a SIGHUP) follows before any check of a connection saw
// it. The new generation started an empty memory of dead refresh tokens:
// a WebSocket opened with a copy of the signed-out cookie, checked by the
// new generation from then on, stayed open to the session's lifetime, and
// a request with that copy asked the provider to refresh the revoked
// token.
func TestSignOutBeforeReloadEndsSocket(t *testing.T) {
	f, reload := reloadableUpgradeFixture(t)
	var asked atomic.Int32
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		asked.Add(1)
		return nil, nil, idp.ErrInvalidGrant
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(2 * time.Minute) // due within the 10 minutes a dead token is remembered
	cookies := f.cookies(t, s)
	if out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(cookies)); out.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", out.StatusCode)
	}
	f.h = reload()
	conn, br := openUpgrade(t, f, cookieHeader(cookies))
	time.Sleep(200 * time.Millisecond) // rechecks while the access token is valid
	echoes(t, conn, br)
	f.clock.Advance(2 * time.Minute) // the access token has expired
	if !closedWithin(conn, br, 5*time.Second) {
		t.Error("the WebSocket outlived a sign-out made just before a reload")
	}
	if out := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); out.StatusCode == http.StatusOK {
		t.Errorf("a request with the signed-out cookie after the reload: %d", out.StatusCode)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the provider was asked %d times to refresh a refresh token revoked before the reload", n)
	}
}

// reloadableUpgradeFixture is a fixture whose open connections are
// rechecked every 50 ms by the handler in force (Config.Live), and reload,
// which builds the next handler as a reload does (New sees the one in
// force) and puts it in force.
func reloadableUpgradeFixture(t *testing.T, opts ...fixtureOption) (*fixture, func() *Handler) {
	t.Helper()
	var live atomic.Pointer[Handler]
	f := newFixtureWith(t, echoUpgrade, append([]fixtureOption{func(c *Config) {
		c.UpgradeRecheck = 50 * time.Millisecond
		c.Live = live.Load
	}}, opts...)...)
	live.Store(f.h)
	return f, func() *Handler {
		next, err := New(f.cfg)
		if err != nil {
			t.Fatal(err)
		}
		live.Store(next)
		return next
	}
}

// loadCounter counts the loads of the session store it wraps (wrap, a
// fixture option): a recheck of an upgraded connection of a session loads
// it once.
type loadCounter struct {
	session.Store
	loads atomic.Int64
}

func (c *loadCounter) wrap(cfg *Config) { c.Store, cfg.Sessions = cfg.Sessions, c }

func (c *loadCounter) Load(r *http.Request) (*session.Session, error) {
	c.loads.Add(1)
	return c.Store.Load(r)
}

// awaitRecheck waits until a recheck of the test's one upgraded connection
// that began after the call has ended, or the connection has (logs, the
// gateway's debug log: a recheck that ends it is the last). count counts
// each recheck once, as it begins (loadCounter; the provider's verifies for
// a bearer token), and the watch runs them one after another: a count of
// two more than at the call shows that the first recheck counted after it
// has ended. A test that slept a few recheck intervals instead saw none
// made on a loaded machine, and then advanced the clock past what only a
// recheck could have seen (a revoked refresh token's mark outlives
// deadRefreshTTL only in the watch).
func awaitRecheck(t *testing.T, count func() int64, logs *syncBuffer) {
	t.Helper()
	n := count()
	waitUntil(t, "a recheck of the upgraded connection", func() bool {
		return count() >= n+2 || strings.Contains(logs.String(), "proxy: upgraded connection ended")
	})
}
