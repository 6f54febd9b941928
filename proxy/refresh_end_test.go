package proxy

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// errProviderDown is what the provider's client returns when the provider
// cannot be reached.
var errProviderDown = errors.New(`idp: refresh: Post "https://idp.test/token": dial tcp: connection refused`)

// endFixture is a fixture on the cookie store, or on a real redis-server.
func endFixture(t *testing.T, redis bool) *fixture {
	t.Helper()
	return newFixture(t, func(c *Config) {
		if redis {
			c.Sessions = realRedisStore(t, c.Now)
		}
	})
}

// storedSession saves f's session, its access token expiring in (or, if
// negative, that long ago), to f's store: the cookies that name it.
func storedSession(t *testing.T, f *fixture, in time.Duration) []*http.Cookie {
	t.Helper()
	s := f.session()
	s.Expiry = f.clock.Now().Add(in)
	return saveToStore(t, f.cfg.Sessions, s)
}

// TestExpiredSessionEndsWhenProviderUnreachable: a session whose access
// token has expired and whose refresh fails without the provider's verdict
// (unreachable) ends: removed from Redis, its cookie cleared, the request
// answered as one without a session (API 401, navigation to sign in,
// forward-auth 401), and the same cookie does not work again once the
// provider is back. Before, the session was kept and the cookie refreshed
// at the first request after the outage.
func TestExpiredSessionEndsWhenProviderUnreachable(t *testing.T) {
	fa := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"),
		withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/app/x")}
	kinds := []struct {
		name, target string
		opts         []reqOption
		want         int
	}{
		{"API", "/app/x", nil, http.StatusUnauthorized},
		{"navigation", "/app/x", []reqOption{browser()}, http.StatusFound},
		{"forward-auth", "/oauth2/auth", fa, http.StatusUnauthorized},
	}
	for _, store := range []string{"cookie", "redis"} {
		for _, k := range kinds {
			t.Run(store+"/"+k.name, func(t *testing.T) {
				f := endFixture(t, store == "redis")
				f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) { return nil, nil, errProviderDown }
				cookies := storedSession(t, f, -time.Second)

				resp := f.do(t, "GET", k.target, nil, append(k.opts, withCookies(cookies))...)
				if resp.StatusCode != k.want || !clearsSession(resp) {
					t.Errorf("provider down, access token expired: %d, Set-Cookie %q; want %d clearing the session cookie",
						resp.StatusCode, resp.Header.Values("Set-Cookie"), k.want)
				}
				if loc := resp.Header.Get("Location"); k.want == http.StatusFound && !strings.HasPrefix(loc, "https://idp.test/authorize?") {
					t.Errorf("navigation sent to %q, want the sign-in", loc)
				}
				if _, err := f.cfg.Sessions.Load(withCookiesRequest(cookies)); store == "redis" && !errors.Is(err, session.ErrNoSession) {
					t.Errorf("the session is still in Redis (Load: %v)", err)
				}

				f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
					return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
				}
				f.clock.Advance(refreshRetry + time.Second) // past any retry delay
				asked, reached := f.prov.refreshes.Load(), f.up.count()
				resp = f.do(t, "GET", "/app/y", nil, withCookies(cookies))
				if resp.StatusCode != http.StatusUnauthorized || f.up.count() != reached || f.prov.refreshes.Load() != asked {
					t.Errorf("the same cookie, provider back: %d, upstream reached %d times, provider asked %d times; want 401, neither",
						resp.StatusCode, f.up.count()-reached, f.prov.refreshes.Load()-asked)
				}
			})
		}
	}
}

// TestUnreachableProviderWithinMarginEndsNothing: while the access token is
// valid, a failing provider ends nothing: the request is served and the
// session stays.
func TestUnreachableProviderWithinMarginEndsNothing(t *testing.T) {
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			f := endFixture(t, store == "redis")
			f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) { return nil, nil, errProviderDown }
			cookies := storedSession(t, f, 10*time.Second) // within the margin
			resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies))
			if resp.StatusCode != http.StatusOK || clearsSession(resp) || f.prov.refreshes.Load() != 1 {
				t.Errorf("provider down, access token valid: %d, Set-Cookie %q, %d refreshes; want 200 after one, nothing cleared",
					resp.StatusCode, resp.Header.Values("Set-Cookie"), f.prov.refreshes.Load())
			}
			if _, err := f.cfg.Sessions.Load(withCookiesRequest(cookies)); err != nil {
				t.Errorf("the session is gone: %v", err)
			}
		})
	}
}

// TestUnrefreshedEndSparesAnotherReplicasRefresh: a replica whose refresh
// of an expired session fails does not end it when the store holds another
// replica's refresh of it by then (its lock was lost meanwhile): the
// request is served with that refresh, and the session stays. Also when
// that refresh kept the access token (a provider may answer a refresh with
// the one it had issued): its new refresh token and expiry tell it.
func TestUnrefreshedEndSparesAnotherReplicasRefresh(t *testing.T) {
	for _, keepAT := range []bool{false, true} {
		f := endFixture(t, true)
		cookies := storedSession(t, f, -time.Second)
		f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
			// Another replica's refresh lands while this one's provider call fails.
			other, err := f.cfg.Sessions.Full(withCookiesRequest(cookies), mustLoad(t, f.cfg.Sessions, cookies))
			if err != nil {
				t.Error(err)
				return nil, nil, errProviderDown
			}
			if !keepAT {
				other.AccessToken = "at-other"
			}
			other.RefreshToken, other.Expiry = "rt-other", f.clock.Now().Add(time.Hour)
			if err := f.cfg.Sessions.Save(nil, withCookiesRequest(cookies), other); err != nil {
				t.Error(err)
			}
			return nil, nil, errProviderDown
		}
		resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies))
		if resp.StatusCode != http.StatusOK || clearsSession(resp) {
			t.Errorf("another replica's refresh landed (access token kept: %v): %d, Set-Cookie %q; want 200, nothing cleared",
				keepAT, resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
		got, err := f.cfg.Sessions.Full(withCookiesRequest(cookies), mustLoad(t, f.cfg.Sessions, cookies))
		if err != nil || got.RefreshToken != "rt-other" {
			t.Errorf("stored session after the failed refresh (access token kept: %v): %v; want the other replica's refresh", keepAT, err)
		}
	}
}

// TestUnrefreshedEndWaitsForARefreshUnderWay: a request whose refresh of
// an expired session fails while another holds the session's lock (a
// refresh under way elsewhere) does not end it: it is unauthenticated, and
// the refresh under way decides.
func TestUnrefreshedEndWaitsForARefreshUnderWay(t *testing.T) {
	f := endFixture(t, true)
	cookies := storedSession(t, f, -time.Second)
	stored := mustLoad(t, f.cfg.Sessions, cookies)
	unlock, ok, err := f.cfg.Sessions.Lock(t.Context(), stored.ID, time.Minute)
	if err != nil || !ok {
		t.Fatalf("lock: %v %v", ok, err)
	}
	defer unlock()
	resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusUnauthorized || clearsSession(resp) {
		t.Errorf("a refresh under way elsewhere: %d, Set-Cookie %q; want 401, nothing cleared", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	if _, err := f.cfg.Sessions.Load(withCookiesRequest(cookies)); err != nil {
		t.Errorf("the session was ended while another refreshed it: %v", err)
	}
}

func mustLoad(t *testing.T, st session.Store, cs []*http.Cookie) *session.Session {
	t.Helper()
	s, err := st.Load(withCookiesRequest(cs))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestUnrefreshedEndOnceForConcurrentRequests: concurrent requests of one
// session whose access token expired while the provider is slow and then
// fails cost one refresh and end the session once: one warn line, each
// request unauthenticated (401), none a 503. The requests that shared the
// failed refresh each ran the end: with the cookie store, whose lock always
// acquires, each read the same cookie and logged the session ended again.
func TestUnrefreshedEndOnceForConcurrentRequests(t *testing.T) {
	const n = 100
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			var logs syncBuffer
			f := newFixture(t, withDebugLog(&logs), func(c *Config) {
				if store == "redis" {
					c.Sessions = realRedisStore(t, c.Now)
				}
			})
			entered, gate := make(chan struct{}, 1), make(chan struct{})
			f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
				entered <- struct{}{}
				<-gate // a slow provider, then no answer
				return nil, nil, errProviderDown
			}
			cookies := storedSession(t, f, -time.Second)
			codes := make(chan int, n)
			for range n {
				go func() { codes <- f.do(t, "GET", "/app/x", nil, withCookies(cookies)).StatusCode }()
			}
			<-entered
			// The others join the refresh under way (their stacks): one
			// that asked after it ended would not share it, and the test
			// would not show a shared failure ending the session once.
			waitUntil(t, "the others to join the refresh", func() bool {
				return waitingToShare("proxy.(*Handler).refresh(") == n-1
			})
			close(gate)
			for range n {
				if code := <-codes; code != http.StatusUnauthorized {
					t.Errorf("a concurrent request: %d, want 401", code)
				}
			}
			if got := f.prov.refreshes.Load(); got != 1 {
				t.Errorf("the provider was asked %d times, want once", got)
			}
			if got := strings.Count(logs.String(), "msg=\"proxy: session ended: its access token expired"); got != 1 {
				t.Errorf("%d lines say the session ended, want 1; logs:\n%s", got, logs.String())
			}
		})
	}
}

// TestSignOutRevokesATokenEndedUnrefreshed: a session that ended because
// its access token expired while the provider could not be reached leaves
// its refresh token dead on this replica only; the provider still takes it.
// A sign-out with a copy of the cookie (the cookie store's cookies outlive
// their session) must revoke it at the provider. It was taken for revoked,
// since it was dead: the grant lived on, and a copy could refresh it once
// the dead mark passed (10 minutes).
func TestSignOutRevokesATokenEndedUnrefreshed(t *testing.T) {
	f := endFixture(t, false)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) { return nil, nil, errProviderDown }
	cookies := storedSession(t, f, -time.Second)
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusUnauthorized || !f.h.refresher.dead("rt-0") {
		t.Fatalf("provider down, access token expired: %d, refresh token dead %v; want 401 and dead", resp.StatusCode, f.h.refresher.dead("rt-0"))
	}
	f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(cookies))
	if len(f.prov.revoked) != 1 || f.prov.revoked[0] != "rt-0" {
		t.Errorf("the sign-out with a copy of the ended session's cookie revoked %q, want [rt-0]", f.prov.revoked)
	}
}
