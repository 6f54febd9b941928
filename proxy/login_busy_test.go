package proxy

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// slowTokenEndpoint is a provider whose code exchanges (token endpoint,
// userinfo, directory) take as long as the test says: each waits for gate.
// It counts the exchanges in flight, as the provider would see them.
type slowTokenEndpoint struct {
	*fakeProvider
	gate chan struct{}
	inFlightGauge
}

// inFlightGauge counts calls in flight, and the most at once.
type inFlightGauge struct {
	inFlight atomic.Int32
	most     atomic.Int32
}

// enter counts a call in; the returned func counts it out.
func (g *inFlightGauge) enter() (leave func()) {
	n := g.inFlight.Add(1)
	for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
	}
	return func() { g.inFlight.Add(-1) }
}

func (p *slowTokenEndpoint) Exchange(ctx context.Context, code, verifier, nonce string, started time.Time) (*idp.Tokens, *portcullis.Identity, error) {
	defer p.enter()()
	select {
	case <-p.gate:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return p.fakeProvider.Exchange(ctx, code, verifier, nonce, started)
}

// TestCallbackExchangesBounded: each /start hands an anonymous client a
// fresh state, and each callback with it and a made-up code was one
// authenticated token-endpoint call (then userinfo and directory reads),
// with no bound on how many ran at once. With a slow provider 48 such
// callbacks were 48 calls in flight, queued without limit, spending the
// gateway's client quota at the provider that every user's sign-in and
// refresh shares. Now at most 32 run at once; the excess is refused at
// once with 503 and Retry-After, its state left unused so that reloading
// the callback completes the sign-in.
func TestCallbackExchangesBounded(t *testing.T) {
	slow := &slowTokenEndpoint{gate: make(chan struct{})}
	f := newFixture(t, func(c *Config) {
		slow.fakeProvider = c.Provider.(*fakeProvider)
		c.Provider = slow
	})
	const n, limit = 48, 32
	type login struct {
		target string
		opts   []reqOption
	}
	logins := make([]login, n)
	for i := range logins {
		state, cookies := startLogin(t, f, "/oauth2/start?rd=/app/"+strconv.Itoa(i))
		logins[i] = login{"/oauth2/callback?code=made-up-" + strconv.Itoa(i) + "&state=" + url.QueryEscape(state),
			[]reqOption{withCookies(cookies), browser()}}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var busy []login
	var refused atomic.Int32
	for _, l := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := f.do(t, "GET", l.target, nil, l.opts...)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				if resp.Header.Get("Retry-After") == "" {
					t.Errorf("busy callback: 503 without Retry-After")
				}
				mu.Lock()
				busy = append(busy, l)
				mu.Unlock()
				refused.Add(1)
			}
		}()
	}
	// Every callback is either at the provider or already refused.
	deadline := time.Now().Add(5 * time.Second)
	for slow.inFlight.Load()+refused.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	most, waitingOrDone := slow.most.Load(), refused.Load()
	close(slow.gate)
	wg.Wait()
	if most > limit {
		t.Fatalf("%d code exchanges in flight at once from %d callbacks, want at most %d", most, n, limit)
	}
	if waitingOrDone != n-limit {
		t.Fatalf("%d callbacks refused while the provider was busy, want %d at once", waitingOrDone, n-limit)
	}
	// The provider is free again: a refused callback, reloaded, signs in.
	resp := f.do(t, "GET", busy[0].target, nil, busy[0].opts...)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("refused callback reloaded: status %d, want 302 (its state was not spent)", resp.StatusCode)
	}
}
