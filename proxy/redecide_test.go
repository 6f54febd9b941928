package proxy

import (
	"bufio"
	"crypto/rand"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/session"
)

// An open connection or answer was decided once, when it opened: a user
// removed from the group a route requires, or a reload whose rules no
// longer admit the request, left a WebSocket or an event stream open to
// the session's lifetime or the token's expiry. Every recheck now decides
// the request again, with the identity as the provider states it then and
// the routes in force.

// reloaded builds the handler a reload to routes would install next to f's.
func reloaded(t *testing.T, f *fixture, routes []policy.RouteConfig) *Handler {
	t.Helper()
	table, err := policy.Compile(routes)
	if err != nil {
		t.Fatal(err)
	}
	return reloadedWith(t, f, func(c *Config) { c.Routes = table })
}

// reloadedWith builds the handler a reload to f's configuration, changed
// by edit, would install: its own, not the one in force (Live unset).
func reloadedWith(t *testing.T, f *fixture, edit func(*Config)) *Handler {
	t.Helper()
	cfg := f.cfg
	edit(&cfg)
	cfg.Live = nil
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// countedLive is a Config.Live that counts its calls: each recheck of an
// open connection makes one first, so a test can wait for rechecks rather
// than for a time, which a loaded machine may not fill with any.
type countedLive struct {
	atomic.Pointer[Handler]
	loads atomic.Int32
}

func (l *countedLive) load() *Handler {
	l.loads.Add(1)
	return l.Load()
}

// rechecked waits for a whole recheck made after the call, with the
// handler stored then: the second Live call from now starts only once the
// first has ended and kept the connection open.
func (l *countedLive) rechecked(t *testing.T) {
	t.Helper()
	n := l.loads.Load()
	waitUntil(t, "a whole recheck with the configuration in force (two calls of Config.Live) that keeps the connection", func() bool { return l.loads.Load() >= n+2 })
}

// liveUpgrade is a fixture echoing WebSockets, rechecked every 50ms, whose
// rechecks decide with the handler stored in the returned live once one is.
func liveUpgrade(t *testing.T) (*fixture, *countedLive) {
	live := new(countedLive)
	f := newFixtureWith(t, echoUpgrade, func(c *Config) {
		c.UpgradeRecheck = 50 * time.Millisecond
		c.Live = live.load
	})
	return f, live
}

// readsLines fails t unless n lines of the stream br arrive.
func readsLines(t *testing.T, br *bufio.Reader, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if line, err := br.ReadString('\n'); err != nil {
			t.Fatalf("the stream of an allowed request ended: %q, %v", line, err)
		}
	}
}

// stricter is testRoutes with /app/** for the group "ops" only.
func stricter() []policy.RouteConfig {
	routes := append([]policy.RouteConfig(nil), testRoutes...)
	routes[4] = policy.RouteConfig{Path: "/app/**", AllowGroups: []string{"ops"}}
	return routes
}

func TestUpgradeEndsWhenReloadDeniesIt(t *testing.T) {
	f, live := liveUpgrade(t)
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Groups: []string{"staff"}, Expiry: f.clock.Now().Add(time.Hour)}
	conn, br := openUpgrade(t, f, "Authorization: Bearer ws\r\n")
	live.Store(reloaded(t, f, testRoutes)) // a reload that changes nothing for it
	live.rechecked(t)
	echoes(t, conn, br)
	live.Store(reloaded(t, f, stricter()))
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived a reload whose rules refuse it")
	}
}

func TestUpgradeEndsWhenGroupRemoved(t *testing.T) {
	f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Groups: []string{"admins"}, Expiry: f.clock.Now().Add(time.Hour)}
	conn, br := openUpgradeAt(t, f, "/admin/ws", "Authorization: Bearer ws\r\n")
	// Two rechecks' introspections: the first has ended, kept the connection.
	n := f.prov.verifies.Load()
	waitUntil(t, "a whole recheck that keeps the connection", func() bool { return f.prov.verifies.Load() >= n+2 })
	echoes(t, conn, br)
	f.prov.mu.Lock() // introspection now states the user without the group
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Groups: []string{"staff"}, Expiry: f.clock.Now().Add(time.Hour)}
	f.prov.mu.Unlock()
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket of /admin/** outlived its user's removal from admins")
	}
}

func TestUpgradeOfSessionEndsWhenReloadDeniesIt(t *testing.T) {
	f, live := liveUpgrade(t)
	conn, br := openUpgrade(t, f, cookieHeader(f.cookies(t, f.session())))
	live.Store(reloaded(t, f, stricter()))
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket of a session outlived a reload whose rules refuse it")
	}
}

func TestStreamEndsWhenReloadDeniesIt(t *testing.T) {
	var live atomic.Pointer[Handler]
	f := newFixtureWith(t, eventStream(nil), func(c *Config) { c.Live = live.Load })
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	br := openStream(t, f, "/app/events", "Authorization", "Bearer sse")
	endsWhenReloadDenies(t, f, &live, br, stricter(), "the event stream outlived a reload whose rules refuse it")
}

// endsWhenReloadDenies reloads f with the same routes and checks that the
// stream on br still flows after a recheck, then reloads with denying and
// fails with what unless the stream ends at the next recheck.
func endsWhenReloadDenies(t *testing.T, f *fixture, live *atomic.Pointer[Handler], br *bufio.Reader,
	denying []policy.RouteConfig, what string) {
	t.Helper()
	live.Store(reloaded(t, f, testRoutes))
	f.clock.Advance(11 * time.Second) // a recheck is due: still allowed
	readsLines(t, br, 3)
	live.Store(reloaded(t, f, denying))
	f.clock.Advance(11 * time.Second)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal(what)
	}
}

// TestUpgradeEndsWhenSecretsRotatedOut: rotating session.secrets is how the
// cookie store ends every session; a WebSocket opened before the reload
// lived on, rechecked against the store it was opened with.
func TestUpgradeEndsWhenSecretsRotatedOut(t *testing.T) {
	f, live := liveUpgrade(t)
	conn, br := openUpgrade(t, f, cookieHeader(f.cookies(t, f.session())))
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	store, err := session.NewCookieStore(session.CookieConfig{Name: "portcullis", Secrets: [][]byte{secret},
		Lifetime: 12 * time.Hour, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := reloadedWith(t, f, func(c *Config) { c.Sessions = store })
	live.rechecked(t)
	echoes(t, conn, br)
	live.Store(h)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket of a session outlived the rotation of its secret out of session.secrets")
	}
}

// TestLongPollDeniedAfterReload: the answer to a long poll that a reload
// no longer admits is not given: a 403, as for a new request (an error the
// gateway did not tell apart was a 502 blaming the application).
func TestLongPollDeniedAfterReload(t *testing.T) {
	var live atomic.Pointer[Handler]
	release := make(chan struct{})
	var atApp atomic.Int32
	f := newFixtureWith(t, counted(&atApp, eventStream(release)), func(c *Config) { c.Live = live.Load })
	f.prov.bearers["poll"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	done := startLongPoll(t, f, &atApp)
	live.Store(reloaded(t, f, stricter()))
	f.clock.Advance(11 * time.Second)
	close(release)
	wantLongPollRefused(t, done, http.StatusForbidden)
}

// TestStreamOfOverriddenPostEndsWhenOverrideDenied: a POST whose _method
// names DELETE is forwarded only when both methods are allowed
// (decideOverride), but the recheck of its streamed answer decided the POST
// alone: a user removed from the group DELETE requires kept the answer of a
// request the application performs as a DELETE.
func TestStreamOfOverriddenPostEndsWhenOverrideDenied(t *testing.T) {
	table, err := policy.Compile(overrideRoutes)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, eventStream(nil), func(c *Config) { c.Routes = table })
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Groups: []string{"admins"}, Expiry: f.clock.Now().Add(time.Hour)}
	srv := serveGateway(t, f)
	req, _ := http.NewRequest("POST", srv.URL+"/items/events?_method=DELETE", nil)
	req.Host = "gw.test"
	req.Header.Set("Authorization", "Bearer sse")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST ?_method=DELETE by an admin: %v %v", resp, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	f.clock.Advance(11 * time.Second) // a recheck is due: still allowed
	readsLines(t, br, 3)
	f.prov.mu.Lock() // introspection now states the user without admins
	f.prov.bearers["sse"] = &portcullis.Identity{Subject: "svc", Groups: []string{"staff"}, Expiry: f.clock.Now().Add(time.Hour)}
	f.prov.mu.Unlock()
	f.clock.Advance(11 * time.Second)
	if !streamEndsWithin(br, 5*time.Second) {
		t.Fatal("the answer to a POST performed as DELETE outlived its user's removal from the group DELETE requires")
	}
}

// TestUpgradeEndsWhenReloadLowersLifetime: a reload that lowers
// session.lifetime ends the sessions older than the new value at their
// next request, and their open connections at the next recheck, which
// loads the session from the store of the configuration in force.
func TestUpgradeEndsWhenReloadLowersLifetime(t *testing.T) {
	f, live := liveUpgrade(t)
	conn, br := openUpgrade(t, f, cookieHeader(f.cookies(t, f.session())))
	cc := f.cookie
	cc.Lifetime = time.Minute
	store, err := session.NewCookieStore(cc)
	if err != nil {
		t.Fatal(err)
	}
	h := reloadedWith(t, f, func(c *Config) { c.Sessions = store })
	live.Store(h)
	live.rechecked(t)
	echoes(t, conn, br) // younger than the new lifetime: kept
	f.clock.Advance(2 * time.Minute)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket of a session older than the lowered lifetime outlived the reload")
	}
}
