package proxy

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// Provider calls a client can trigger with a cookie it keeps: a cookie-store
// cookie stays readable until the session's lifetime, whatever the provider
// or a sign-out did to its tokens, so each request with a copy of it must
// not be one more call at the provider.

// TestRefusedRefreshTokenNotRetriedOnReplay: the provider refused the
// session's refresh token (invalid_grant) and the gateway cleared the
// cookie, but a client that sends the cookie again made the gateway redeem
// the dead refresh token again, once per request: 50 requests were 50
// token-endpoint calls.
func TestRefusedRefreshTokenNotRetriedOnReplay(t *testing.T) {
	for _, tc := range []struct {
		name   string
		expiry time.Duration
	}{{"access token expired", -time.Second}, {"access token within the margin", 30 * time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
				return nil, nil, idp.ErrInvalidGrant
			}
			s := f.session()
			s.Expiry = f.clock.Now().Add(tc.expiry)
			ck := f.cookies(t, s)
			for i := 0; i < 50; i++ {
				resp := f.do(t, "GET", "/app/x", nil, withCookies(ck))
				resp.Body.Close()
				if resp.StatusCode != 404 && resp.StatusCode != 401 {
					t.Fatalf("request %d: status %d, want the request refused", i, resp.StatusCode)
				}
			}
			if n := f.prov.refreshes.Load(); n != 1 {
				t.Fatalf("%d refresh calls for 50 requests with a cookie whose refresh token was refused, want 1", n)
			}
		})
	}
}

// TestFailedRefreshBacksOff: with the provider unreachable, every request
// of a session within the refresh margin (its access token still valid)
// asked the provider again: a retry storm on a provider that is down.
func TestFailedRefreshBacksOff(t *testing.T) {
	f := newFixture(t)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return nil, nil, errors.New("fake: provider unreachable")
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(30 * time.Second)
	ck := f.cookies(t, s)
	for i := 0; i < 50; i++ {
		resp := f.do(t, "GET", "/app/x", nil, withCookies(ck))
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d, want 200 on the still-valid access token", i, resp.StatusCode)
		}
	}
	if n := f.prov.refreshes.Load(); n != 1 {
		t.Fatalf("%d refresh calls for 50 requests while the provider is down, want 1", n)
	}
	f.clock.Advance(10 * time.Second) // past the retry delay, still within the margin
	resp := f.do(t, "GET", "/app/x", nil, withCookies(ck))
	resp.Body.Close()
	if n := f.prov.refreshes.Load(); n != 2 {
		t.Fatalf("%d refresh calls after the retry delay, want 2", n)
	}
}

// TestFailedRefreshOfExpiredTokenBacksOff: once the access token had
// expired, a refresh that failed without a verdict (the provider down, or
// answering an error other than invalid_grant) was not remembered, so every
// request of the session (each anonymous) was another token request. Such a
// refresh now ends the session: its refresh token is not presented again,
// not even after the retry delay.
func TestFailedRefreshOfExpiredTokenBacksOff(t *testing.T) {
	f := newFixture(t)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return nil, nil, errors.New("fake: provider unreachable")
	}
	s := f.session()
	s.Expiry = f.clock.Now().Add(-time.Minute)
	ck := f.cookies(t, s)
	for i := 0; i < 20; i++ {
		resp := f.do(t, "GET", "/app/x", nil, withCookies(ck))
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("request %d: 200 on an expired access token", i)
		}
	}
	if n := f.prov.refreshes.Load(); n != 1 {
		t.Fatalf("%d refresh calls for 20 requests while the provider is down, want 1", n)
	}
	f.clock.Advance(10 * time.Second) // past the retry delay
	resp := f.do(t, "GET", "/app/x", nil, withCookies(ck))
	resp.Body.Close()
	if n := f.prov.refreshes.Load(); n != 1 || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the retry delay: %d, %d refresh calls; want 401 and still 1 (the session ended)", resp.StatusCode, n)
	}
}

// TestSignOutReplayRevokesOnce: signing out with the same cookie again (a
// copy outlives its sign-out in the cookie store) sent the provider one
// revocation request per sign-out.
func TestSignOutReplayRevokesOnce(t *testing.T) {
	f := newFixture(t)
	s := f.session()
	s.Expiry = f.clock.Now().Add(30 * time.Second) // within the refresh margin
	ck := f.cookies(t, s)
	for i := 0; i < 50; i++ {
		resp := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(ck))
		resp.Body.Close()
		if resp.StatusCode != 302 {
			t.Fatalf("sign-out %d: status %d", i, resp.StatusCode)
		}
	}
	f.prov.mu.Lock()
	n := len(f.prov.revoked)
	f.prov.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d revocations for 50 sign-outs with one cookie, want 1", n)
	}
	// The revoked refresh token is not redeemed by a later request either.
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-new", RefreshToken: "rt-new", Expiry: f.clock.Now().Add(time.Hour)}, nil, nil
	}
	resp := f.do(t, "GET", "/app/x", nil, withCookies(ck))
	resp.Body.Close()
	if n := f.prov.refreshes.Load(); n != 0 || resp.StatusCode == 200 {
		t.Fatalf("after sign-out, a copy of the cookie refreshed (%d calls, status %d)", n, resp.StatusCode)
	}
}

// slowRevocation is a provider whose revocation endpoint answers when the
// test closes gate; it counts the revocations in flight at most.
type slowRevocation struct {
	*fakeProvider
	gate  chan struct{}
	calls atomic.Int32
	inFlightGauge
}

func (p *slowRevocation) Revoke(ctx context.Context, rt string) error {
	p.calls.Add(1)
	defer p.enter()()
	select {
	case <-p.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.fakeProvider.Revoke(ctx, rt)
}

// inRevokeRefresh counts the goroutines in Handler.revokeRefresh, from
// their stacks: a sign-out there shares a revocation or waits on its own,
// which the test cannot otherwise see.
func inRevokeRefresh() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	for ; n == len(buf); n = runtime.Stack(buf, true) {
		buf = make([]byte, 2*len(buf))
	}
	return strings.Count(string(buf[:n]), "proxy.(*Handler).revokeRefresh(")
}

// TestConcurrentSignOutsRevokeOnce: the dead marker that keeps a replayed
// sign-out from costing a revocation (TestSignOutReplayRevokesOnce) is set
// only when the provider has answered, so sign-outs sent together with
// copies of one cookie were one revocation request each while the first
// was in flight: a burst of N cost the provider N calls (and each is
// carried out for up to 10 s after its client hangs up). Concurrent
// sign-outs of one refresh token now share one revocation.
func TestConcurrentSignOutsRevokeOnce(t *testing.T) {
	slow := &slowRevocation{gate: make(chan struct{})}
	f := newFixture(t, func(c *Config) {
		slow.fakeProvider = c.Provider.(*fakeProvider)
		c.Provider = slow
	})
	ck := f.cookies(t, f.session())
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(ck))
			resp.Body.Close()
		}()
	}
	// Every sign-out reached the revocation (sharing one or not) before the
	// provider answers: after a fixed wait, a loaded machine could still
	// have late ones, which find the token dead and show nothing.
	waitUntil(t, "every sign-out at the revocation", func() bool { return inRevokeRefresh() == n })
	close(slow.gate)
	wg.Wait()
	if m := slow.most.Load(); m != 1 {
		t.Errorf("%d revocations of one refresh token in flight for %d sign-outs, want 1 (%d calls)", m, n, slow.calls.Load())
	}
	f.prov.mu.Lock()
	revoked := len(f.prov.revoked)
	f.prov.mu.Unlock()
	if revoked != 1 {
		t.Errorf("%d revocations for %d concurrent sign-outs with one cookie, want 1", revoked, n)
	}
}
