package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// stopAtSave is the real Redis store of one redis-server, which it stops
// (SIGSTOP, by PID) when a new session is first saved: the moment of a
// sign-in after its code was redeemed and its state claimed.
type stopAtSave struct {
	*session.RedisStore
	pid  int
	once sync.Once
}

func (s *stopAtSave) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	if sess.ID == "" {
		s.once.Do(func() { _ = syscall.Kill(s.pid, syscall.SIGSTOP) })
	}
	return s.RedisStore.Save(w, r, sess)
}

// TestSignInWhoseSaveFailsKeepsTheSession: redis-server stops when the new
// session of a sign-in over bob's session is saved. The sign-in fails (503)
// and bob's session must be as it was once Redis answers again: usable,
// its token not revoked, no line saying it was replaced, its cookie not
// expired by the failure page.
func TestSignInWhoseSaveFailsKeepsTheSession(t *testing.T) {
	var logs syncBuffer
	addr, proc := testenv.StartRedis(t)
	var st *stopAtSave
	f := newFixture(t, withDebugLog(&logs), func(c *Config) {
		st = &stopAtSave{RedisStore: redisStoreAt(t, addr, c.Now), pid: proc.Cmd.Process.Pid}
		c.Sessions = st
	})
	resume := func() { _ = syscall.Kill(st.pid, syscall.SIGCONT) }
	t.Cleanup(resume)
	s := f.session()
	s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-old"
	old := saveToStore(t, st.RedisStore, s)
	resp := signInOver(t, f, old, fromAnotherSite)
	resume()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("callback whose save failed = %d, want 503", resp.StatusCode)
	}
	wantSessionKept(t, f, resp, old, &logs)
}

// TestSignInTooLargeKeepsTheSession: a sign-in over bob's session whose
// new session is too large for the cookie store fails (500); the failure
// page must not expire bob's cookie nor revoke its token.
func TestSignInTooLargeKeepsTheSession(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	s := f.session()
	s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-old"
	old := f.cookies(t, s)
	for i := range 3000 {
		f.prov.identity.Groups = append(f.prov.identity.Groups, fmt.Sprintf("group-%d-%x", i, i*7919))
	}
	resp := signInOver(t, f, old, fromAnotherSite)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("callback of a session too large = %d, want 500", resp.StatusCode)
	}
	wantSessionKept(t, f, resp, old, &logs)
}

// wantSessionKept checks that the failed sign-in answered by resp left the
// session of the cookies old as it was.
func wantSessionKept(t *testing.T, f *fixture, resp *http.Response, old []*http.Cookie, logs *syncBuffer) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "portcullis") && !strings.Contains(c.Name, "_login_") && c.MaxAge < 0 {
			t.Errorf("the failed sign-in's answer expires the session cookie %s", c.Name)
		}
	}
	if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusOK {
		t.Errorf("the session after a sign-in over it failed to save: %d, want 200", r.StatusCode)
	}
	if len(f.prov.revoked) != 0 || len(logLines(logs.String(), "proxy: session replaced by a new sign-in")) != 0 {
		t.Errorf("a failed sign-in revoked %q or logged a replacement:\n%s", f.prov.revoked, logs.String())
	}
}

// TestRefreshInFlightDoesNotUndoSignIn: bob's request refreshes his
// session while the browser signs in over it. The refresh answers after
// the callback: its answer must not serve bob, nor write the session
// cookie (the cookie store set bob's refreshed session over the new one;
// both stores expired the new one), and the refresh token it was issued is
// revoked as the callback revoked the one it read, except when the same
// provider user signed in: that token shares the new session's grant
// (revoked, the new session ended at its first refresh); it is refused
// here instead.
func TestRefreshInFlightDoesNotUndoSignIn(t *testing.T) {
	for _, store := range []string{"cookie", "redis"} {
		for _, user := range []string{"other", "same"} {
			t.Run(store+"/"+user, func(t *testing.T) { refreshAcrossSignIn(t, store, user == "same") })
		}
	}
}

func refreshAcrossSignIn(t *testing.T, store string, sameUser bool) {
	var opts []fixtureOption
	var addr string
	if store == "redis" {
		opts = append(opts, redisAt(t, &addr))
	}
	f := newFixture(t, opts...)
	if sameUser {
		f.prov.identity.Subject, f.prov.identity.ProviderSubject = "bob", "bob"
	}
	started, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		once.Do(func() { close(started) })
		<-gate
		id := portcullis.Identity{Issuer: f.prov.identity.Issuer, Subject: "bob", ProviderSubject: "bob"}
		return &idp.Tokens{AccessToken: "at-bob-1", RefreshToken: "rt-bob-1", Expiry: f.clock.Now().Add(time.Hour)}, &id, nil
	}
	s := f.session()
	s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-0"
	s.Expiry = f.clock.Now().Add(10 * time.Second) // within the refresh margin
	old := saveToStore(t, f.cfg.Sessions, s)
	var resp *http.Response
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp = f.do(t, "GET", "/app/x", nil, withCookies(old))
	}()
	<-started
	if in := signInOver(t, f, old, fromAnotherSite); in.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d", in.StatusCode)
	}
	close(gate)
	<-done
	wantRefreshOvertaken(t, f, resp, sameUser)
}

// wantRefreshOvertaken checks resp, the answer of a request whose refresh
// (issued rt-bob-1) a sign-in over its session overtook.
func wantRefreshOvertaken(t *testing.T, f *fixture, resp *http.Response, sameUser bool) {
	t.Helper()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("the request of the replaced session was forwarded as %q", f.up.last(t).Header.Get("X-Forwarded-User"))
	}
	for _, c := range resp.Cookies() {
		if c.Name == "portcullis" {
			t.Errorf("the refresh's answer writes the session cookie (max-age %d) over the new sign-in's", c.MaxAge)
		}
	}
	f.prov.mu.Lock()
	revoked := slices.Clone(f.prov.revoked)
	f.prov.mu.Unlock()
	switch {
	case !sameUser && !slices.Contains(revoked, "rt-bob-1"):
		t.Errorf("revoked %q: the refresh token the replaced session was issued (rt-bob-1) stays valid", revoked)
	case sameUser && len(revoked) != 0:
		t.Errorf("revoked %q: the same user's grant, which the new session holds", revoked)
	case sameUser && !f.h.refresher.dead("rt-bob-1"):
		t.Error("the refresh token issued to the replaced session is not refused here")
	}
}

// barrierAtSave is the real Redis store; the saves of new sessions wait
// until n of them have arrived, so that n sign-ins have each read the
// session they replace before any ends it.
type barrierAtSave struct {
	*session.RedisStore
	arrived sync.WaitGroup
}

func (s *barrierAtSave) Save(w http.ResponseWriter, r *http.Request, sess *session.Session) error {
	if sess.ID == "" {
		s.arrived.Done()
		s.arrived.Wait()
	}
	return s.RedisStore.Save(w, r, sess)
}

// TestTwoTabsSignInOverOneSession: two tabs of a browser holding bob's
// session complete a sign-in each at once, both presenting bob's cookie.
// Bob's session is one session replaced once: one line, one revocation,
// one count in logouts_total.
func TestTwoTabsSignInOverOneSession(t *testing.T) {
	var logs syncBuffer
	addr, _ := testenv.StartRedis(t)
	st := &barrierAtSave{}
	f := newFixture(t, withDebugLog(&logs), func(c *Config) {
		st.RedisStore = redisStoreAt(t, addr, c.Now)
		c.Sessions = st
	})
	s := f.session()
	s.Identity.Subject, s.Identity.ProviderSubject, s.RefreshToken = "bob", "bob", "rt-bob-old"
	old := saveToStore(t, st.RedisStore, s)
	st.arrived.Add(2)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		state, states := startLogin(t, f, "/oauth2/start?rd=%2Fapp%2Fx", withCookies(old), fromAnotherSite)
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.do(t, "GET", "/oauth2/callback?code=c0de&state="+url.QueryEscape(state), nil,
				withCookies(append(append([]*http.Cookie{}, old...), states...)), browser()).StatusCode
		}()
	}
	wg.Wait()
	if codes[0] != http.StatusFound || codes[1] != http.StatusFound {
		t.Fatalf("callbacks = %v", codes)
	}
	f.prov.mu.Lock()
	revoked := slices.Clone(f.prov.revoked)
	f.prov.mu.Unlock()
	lines := logLines(logs.String(), "proxy: session replaced by a new sign-in")
	if len(lines) != 1 || len(revoked) != 1 {
		t.Errorf("one session replaced: %d lines, revoked %q:\n%s", len(lines), revoked, strings.Join(lines, "\n"))
	}
}
