package proxy

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// realRedisStore starts a redis-server and returns a Redis store on it with
// the fixture's clock.
func realRedisStore(tb testing.TB, now func() time.Time) *session.RedisStore {
	tb.Helper()
	return redisStoreAt(tb, startRedisServer(tb), now)
}

// startRedisServer starts a redis-server and returns its address.
func startRedisServer(tb testing.TB) string {
	tb.Helper()
	addr, _ := testenv.StartRedis(tb)
	return addr
}

// redisStoreAt returns a Redis store on the Redis at addr, with its own
// connections (another replica) and the secret every such store shares.
func redisStoreAt(tb testing.TB, addr string, now func() time.Time) *session.RedisStore {
	tb.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i*37 + 11)
	}
	st, err := session.NewRedisStore(session.RedisConfig{URL: "redis://" + addr + "/0"},
		session.CookieConfig{Name: "portcullis", Secrets: [][]byte{secret}, Lifetime: 12 * time.Hour, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func saveToStore(tb testing.TB, st session.Store, s *session.Session) []*http.Cookie {
	tb.Helper()
	rec := httptest.NewRecorder()
	if err := st.Save(rec, httptest.NewRequest("GET", "/", nil), s); err != nil {
		tb.Fatal(err)
	}
	var out []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

// TestRefreshInFlightDoesNotOutliveRevocation: a refresh that started
// before a sign-out (or back-channel logout, or `sessions revoke`) and
// returns after it. The store refuses to recreate the session (SET XX), but
// the proxy ignores that failure (saveRefreshed only logs it; refresh()
// returns the new session) and forwards the request, and every request
// joined to the same single flight, as the signed-out user, with an access
// token minted after the sign-out. The sign-out revoked the refresh token it
// read (rt-0, already spent by the rotation); the rotated one (rt-1) is never
// revoked, so the grant stays alive at the provider.
func TestRefreshInFlightDoesNotOutliveRevocation(t *testing.T) {
	revoked := refreshAcrossSignOut(t, false)
	if !slices.Contains(revoked, "rt-1") {
		t.Errorf("revoked %q: the refresh token issued by the in-flight refresh (rt-1) stays valid at the provider", revoked)
	}
}

// TestRefreshInFlightRevocationLogged: the revocation of the refresh
// token a refresh overtaken by a sign-out issued had a line only when it
// failed: the provider's record showed a revocation the gateway's log did
// not. It has its own line, naming the user and what became of the token
// (the sign-out's words), and not the token.
func TestRefreshInFlightRevocationLogged(t *testing.T) {
	var logs syncBuffer
	refreshAcrossSignOut(t, false, withDebugLog(&logs))
	lines := logLines(logs.String(), "proxy: the refresh token issued to a session ended during its refresh")
	if len(lines) != 1 || !strings.Contains(lines[0], "sub=alice refresh_token=revoked") {
		t.Fatalf("lines %q:\n%s", lines, logs.String())
	}
	if strings.Contains(logs.String(), "rt-1") {
		t.Error("the log holds the refresh token")
	}
}

// TestRefreshInFlightKeepsGrant: with revoke_on_sign_out = false
// (SignOutKeepsGrant) neither the sign-out nor the refresh it overtook
// revokes anything: the token the refresh issued is dropped, and revoking
// it would end the grant (every session of the user at this client) at a
// provider whose revocation ends the grant.
func TestRefreshInFlightKeepsGrant(t *testing.T) {
	if revoked := refreshAcrossSignOut(t, true); len(revoked) != 0 {
		t.Errorf("revoked %q with SignOutKeepsGrant, want nothing", revoked)
	}
}

// refreshAcrossSignOut signs a session out while its refresh (rt-0 for
// rt-1) waits on the provider, checks that the request it served is not
// forwarded, and returns what the provider was asked to revoke.
func refreshAcrossSignOut(t *testing.T, keepGrant bool, opts ...fixtureOption) []string {
	t.Helper()
	var st *session.RedisStore
	f := newFixture(t, append(opts, func(c *Config) {
		st = realRedisStore(t, c.Now)
		c.Sessions = st
		c.Headers.AccessToken = "X-Forwarded-Access-Token"
		c.SignOutKeepsGrant = keepGrant
	})...)
	started, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		once.Do(func() { close(started) })
		<-gate
		return &idp.Tokens{AccessToken: "at-minted-after-signout", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(10 * time.Second) // within the refresh margin
	cookies := saveToStore(t, st, s)

	var resp *http.Response
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp = f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	}()
	<-started
	out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(cookies))
	if out.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", out.StatusCode)
	}
	if r, err := st.Load(withCookiesRequest(cookies)); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("session after sign-out: %v, %v", r, err)
	}
	close(gate)
	<-done
	if resp.StatusCode == http.StatusOK {
		t.Errorf("a request answered after the sign-out was forwarded as %q with access token %q",
			f.up.last(t).Header.Get("X-Forwarded-User"), f.up.last(t).Header.Get("X-Forwarded-Access-Token"))
	}
	f.prov.mu.Lock()
	defer f.prov.mu.Unlock()
	return slices.Clone(f.prov.revoked)
}

// TestStolenCookieNotRefreshedAfterSignOut (cookie store): docs say a
// cookie copied before sign-out "is still valid until its access token
// expires and cannot be refreshed". The recent-refresh memory (30 s) hands
// the refreshed session (a new access token, valid an hour, and the new
// refresh token) to any request that still carries the pre-refresh cookie,
// even after the user signed out and that refresh token was revoked: a copy
// whose access token has already expired is turned into a fresh one-hour
// session.
func TestStolenCookieNotRefreshedAfterSignOut(t *testing.T) {
	f := newFixture(t)
	spent := map[string]bool{} // a rotating provider: each refresh token is redeemed once
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		if rt != "rt-0" || spent[rt] {
			return nil, nil, idp.ErrInvalidGrant
		}
		spent[rt] = true
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	stolen := nearExpiry(t, f, 10*time.Second) // the attacker copies this cookie
	resp := f.do(t, "GET", "/app/x", nil, withCookies(stolen))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("refresh: %d", resp.StatusCode)
	}
	current := liveCookies(resp)
	if out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(current)); out.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", out.StatusCode)
	}
	if len(f.prov.revoked) != 1 || f.prov.revoked[0] != "rt-1" {
		t.Fatalf("revoked %q", f.prov.revoked)
	}
	f.clock.Advance(15 * time.Second) // the stolen copy's access token has now expired
	resp = f.do(t, "GET", "/app/x", nil, withCookies(stolen))
	if resp.StatusCode == 200 {
		s, err := f.storedSession(liveCookies(resp))
		if err == nil {
			t.Errorf("a pre-sign-out copy whose access token had expired was served and re-issued a session with access token %q valid until %v, refresh token %q",
				s.AccessToken, s.Expiry.Sub(f.clock.Now()), s.RefreshToken)
		} else {
			t.Errorf("a pre-sign-out copy whose access token had expired was served (200)")
		}
	}
}

// fullFailsStore is a Redis store whose Full (one GET) times out, as
// when Redis stalls between a request's GETRANGE and the GET of the
// session's tokens.
type fullFailsStore struct{ *session.RedisStore }

func (s fullFailsStore) Full(r *http.Request, sess *session.Session) (*session.Session, error) {
	return nil, errors.New("session: redis load: i/o timeout")
}

// TestStoreErrorDuringRefreshIsA503: docs/security.md "Fail
// closed": an unreachable session store is a 503, never an anonymous pass
// and never a login loop. A session whose access token has expired needs
// its tokens (Full) to be refreshed; when Redis fails at that point, fresh()
// returns no session and the request is handled as anonymous: a browser is
// sent to the provider's login (302), an API client gets 401, instead of 503.
func TestStoreErrorDuringRefreshIsA503(t *testing.T) {
	var st *session.RedisStore
	f := newFixture(t, func(c *Config) {
		st = realRedisStore(t, c.Now)
		c.Sessions = fullFailsStore{st}
	})
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-new", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(-time.Second) // expired: must be refreshed
	cookies := saveToStore(t, st, s)
	for _, opt := range []reqOption{browser(), withHeader("Accept", "application/json")} {
		resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies), opt)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("Redis failing during the refresh: status %d (Location %q), want 503", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestRefreshWithoutExpiryStillEndsAtRevocation: docs/sessions.md, "the
// provider refuses the refresh: at most AT − margin after the change". A
// provider that states expires_in at the sign-in but not in a refresh
// answer (or states 0, or a negative one): the refreshed session had no
// expiry, so it was never refreshed again, and a refresh token revoked at
// the provider ended it only at lifetime (12 h). It is now taken to live
// unstatedAccessLife: the next refresh then sees the revocation.
func TestRefreshWithoutExpiryStillEndsAtRevocation(t *testing.T) {
	f := newFixture(t)
	revoked := false
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		if revoked {
			return nil, nil, idp.ErrInvalidGrant
		}
		return &idp.Tokens{AccessToken: "at-new", RefreshToken: "rt-1"}, &f.prov.identity, nil // no expires_in
	}
	resp := f.do(t, "GET", "/app/x", nil, withCookies(nearExpiry(t, f, 30*time.Second)))
	if resp.StatusCode != http.StatusOK || f.prov.refreshes.Load() != 1 {
		t.Fatalf("refresh: status %d, %d refreshes", resp.StatusCode, f.prov.refreshes.Load())
	}
	cookies := liveCookies(resp)
	s, err := f.storedSession(cookies)
	if err != nil {
		t.Fatal(err)
	}
	if life := s.Expiry.Sub(f.clock.Now()); life != unstatedAccessLife {
		t.Fatalf("refreshed without expires_in: the access token is taken to live %v (zero: never refreshed again), want %v", life, unstatedAccessLife)
	}
	revoked = true // the user is disabled at the provider
	f.clock.Advance(unstatedAccessLife)
	resp = f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if resp.StatusCode != http.StatusUnauthorized || f.prov.refreshes.Load() != 2 {
		t.Errorf("%v after a revocation at the provider: status %d after %d refreshes, want 401 after 2",
			unstatedAccessLife, resp.StatusCode, f.prov.refreshes.Load())
	}
}

// TestRefreshedExpiryNeverOutlivesLifetime: whatever expiry a refresh
// answer states (ten years, the most idp reads), the session ends at its
// absolute lifetime.
func TestRefreshedExpiryNeverOutlivesLifetime(t *testing.T) {
	f := newFixture(t)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-new", Expiry: f.clock.Now().Add(10 * 366 * 24 * time.Hour)}, &f.prov.identity, nil
	}
	resp := f.do(t, "GET", "/app/x", nil, withCookies(nearExpiry(t, f, 30*time.Second)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: status %d", resp.StatusCode)
	}
	cookies := liveCookies(resp)
	s, err := f.storedSession(cookies)
	if err != nil {
		t.Fatal(err)
	}
	if maxAge := responseCookies(resp)["portcullis"].MaxAge; time.Duration(maxAge)*time.Second > s.ExpiresAt.Sub(f.clock.Now()) {
		t.Errorf("cookie Max-Age %ds outlives the session's lifetime (%v left)", maxAge, s.ExpiresAt.Sub(f.clock.Now()))
	}
	f.clock.Advance(s.ExpiresAt.Sub(f.clock.Now()))
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("at the session's lifetime: status %d, want 401", resp.StatusCode)
	}
}

// TestHandedOnRefreshThatIsItsOwnSuccessor: a provider that answers a
// refresh with the access and refresh tokens it had issued and an expiry
// already within refresh_margin makes the remembered refresh of a cookie
// its own successor. A request with that cookie follows remembered
// refreshes a bounded number of times, then refreshes: it is answered,
// without looping.
func TestHandedOnRefreshThatIsItsOwnSuccessor(t *testing.T) {
	f := newFixture(t)
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-0", RefreshToken: rt, Expiry: f.clock.Now().Add(10 * time.Second)}, &f.prov.identity, nil
	}
	s := f.session()
	s.AccessToken, s.RefreshToken, s.Expiry = "at-0", "rt-0", f.clock.Now().Add(10*time.Second)
	ck := f.cookies(t, s)
	for i := range 3 {
		if resp := f.do(t, "GET", "/app/x", nil, withCookies(ck)); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if n := f.prov.refreshes.Load(); n != 3 {
		t.Errorf("%d refreshes for 3 requests of a session due after each, want 3", n)
	}
}

// TestHandedOnValidSessionOutlivesAFailedRefresh: the cookie a refresh
// replaced is handed that refresh's session; when that session is due
// itself and its own refresh fails for want of the provider (no refusal),
// the request is served with it while its access token is valid, and the
// browser's cookie is not cleared: an outage ends only an expired session.
// Taken for the expired session the request carried, it was ended.
func TestHandedOnValidSessionOutlivesAFailedRefresh(t *testing.T) {
	f := newFixture(t)
	var calls int
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		if calls++; calls > 1 {
			return nil, nil, errors.New("idp: the token endpoint answered 503")
		}
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(70 * time.Second)}, &f.prov.identity, nil
	}
	s := f.session()
	s.AccessToken, s.RefreshToken, s.Expiry = "at-0", "rt-0", f.clock.Now().Add(-time.Second)
	pre := f.cookies(t, s)
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(pre)); resp.StatusCode != http.StatusOK {
		t.Fatalf("the refreshing request: %d", resp.StatusCode)
	}
	f.clock.Advance(20 * time.Second) // at-1 due (50 s left, margin 60 s), valid, within the hand-on window
	resp := f.do(t, "GET", "/app/y", nil, withCookies(pre))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the pre-refresh cookie while the provider is down and its refreshed session valid: %d, want 200", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			t.Errorf("cookie %s cleared", c.Name)
		}
	}
	// Asked again at once, the provider would be asked at every request of
	// the pre-refresh cookie for as long as it is down.
	if resp := f.do(t, "GET", "/app/z", nil, withCookies(pre)); resp.StatusCode != http.StatusOK {
		t.Errorf("the next request: %d, want 200", resp.StatusCode)
	}
	if calls != 2 {
		t.Errorf("%d refreshes at the provider, want 2 (the handed-on session's asked once)", calls)
	}
}
