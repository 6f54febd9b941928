package proxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// TestRefreshSavedWhenClientHangsUp (Redis store): the provider call of a
// refresh outlives the client that started it (context.WithoutCancel), but
// the save of its result used that client's context. A browser that
// navigated away while the provider answered (an aborted fetch, a closed
// tab) left Redis with the refresh token the provider had just rotated
// away: the next refresh, on another replica or on this one after 30 s,
// presented the spent token, got invalid_grant and ended the session (and a
// provider with reuse detection revokes the whole grant).
func TestRefreshSavedWhenClientHangsUp(t *testing.T) {
	var st *session.RedisStore
	f := newFixture(t, func(c *Config) {
		st = realRedisStore(t, c.Now)
		c.Sessions = st
	})
	ctx, hangUp := context.WithCancel(context.Background())
	var once sync.Once
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		if rt != "rt-0" {
			return nil, nil, idp.ErrInvalidGrant // rotating: rt-0 is redeemed once
		}
		once.Do(hangUp) // the client leaves while the provider answers
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(10 * time.Second) // within the refresh margin
	cookies := saveToStore(t, st, s)

	r := httptest.NewRequestWithContext(ctx, "GET", "/app/x", nil)
	r.Host, r.RemoteAddr = "gw.test", "192.0.2.7:5555"
	withCookies(cookies)(r)
	f.h.ServeHTTP(httptest.NewRecorder(), r)
	if f.prov.refreshes.Load() != 1 {
		t.Fatalf("refreshes = %d, want 1", f.prov.refreshes.Load())
	}

	stored, err := st.Load(withCookiesRequest(cookies))
	if err == nil {
		stored, err = st.Full(withCookiesRequest(cookies), stored)
	}
	if err != nil {
		t.Fatalf("session after the refresh: %v", err)
	}
	if stored.RefreshToken != "rt-1" || stored.AccessToken != "at-1" {
		t.Errorf("Redis holds refresh token %q and access token %q after the refresh, want rt-1 and at-1: the rotated token was lost",
			stored.RefreshToken, stored.AccessToken)
	}
}

// TestSignOutCarriedOutWhenClientHangsUp: a user clicks "sign out" and
// closes the tab at once. The sign-out used the request's context, which
// the server cancels when the client goes: with the cookie store the
// revocation of the refresh token failed (a copy of the cookie taken
// before stayed refreshable until lifetime, where the docs say it "cannot
// be refreshed"); with the Redis store the session stayed in Redis, alive
// for every copy of its cookie (the browser's own included: it never got
// the answer that clears it).
func TestSignOutCarriedOutWhenClientHangsUp(t *testing.T) {
	signOut := func(t *testing.T, f *fixture, cookies []*http.Cookie) {
		t.Helper()
		f.h.ServeHTTP(httptest.NewRecorder(), goneRequest("/oauth2/sign_out", withCookies(cookies)))
	}
	revoked := func(f *fixture, rt string) bool {
		f.prov.mu.Lock()
		defer f.prov.mu.Unlock()
		return slices.Contains(f.prov.revoked, rt)
	}

	t.Run("cookie", func(t *testing.T) {
		f := newFixture(t)
		signOut(t, f, f.cookies(t, f.session()))
		if !revoked(f, "rt-0") {
			t.Errorf("revoked %q: the refresh token of the signed-out session was not revoked", f.prov.revoked)
		}
	})
	t.Run("redis", func(t *testing.T) {
		var st *session.RedisStore
		f := newFixture(t, func(c *Config) {
			st = realRedisStore(t, c.Now)
			c.Sessions = st
		})
		cookies := saveToStore(t, st, f.session())
		signOut(t, f, cookies)
		if s, err := st.Load(withCookiesRequest(cookies)); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("session after the sign-out: %v, %v: it stays alive in Redis", s != nil, err)
		}
		if !revoked(f, "rt-0") {
			t.Errorf("revoked %q: the refresh token of the signed-out session was not revoked", f.prov.revoked)
		}
	})
}

// goneRequest is a GET of target, with opts, from a client that has gone
// before the gateway answers (its context canceled).
func goneRequest(target string, opts ...reqOption) *http.Request {
	ctx, hangUp := context.WithCancel(context.Background())
	hangUp()
	r := httptest.NewRequestWithContext(ctx, "GET", target, nil)
	r.Host, r.RemoteAddr = "gw.test", "192.0.2.7:5555"
	for _, o := range opts {
		o(r)
	}
	return r
}
