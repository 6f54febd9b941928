package idp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// countingIntrospection is an introspection endpoint that counts calls and
// the most in flight at once, reports each arrival on arrived, and answers
// only once release is closed: active for the token "good", inactive for
// any other.
type countingIntrospection struct {
	calls, inFlight, maxInFlight atomic.Int32
	arrived                      chan struct{}
	release                      chan struct{}
	exp                          int64
}

func newCountingIntrospection(exp time.Time) *countingIntrospection {
	return &countingIntrospection{arrived: make(chan struct{}, 2000), release: make(chan struct{}), exp: exp.Unix()}
}

func (s *countingIntrospection) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.calls.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.maxInFlight.Load(); n > m && !s.maxInFlight.CompareAndSwap(m, n); m = s.maxInFlight.Load() {
	}
	s.arrived <- struct{}{}
	<-s.release
	resp := map[string]any{"active": false}
	if r.PostFormValue("token") == "good" {
		resp = map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": s.exp}
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// handlerTransport serves requests with an http.Handler in memory, so a
// synctest bubble sees the endpoint's goroutine blocked on its channel.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func introspectionClient(t testing.TB, url string, hc *http.Client, now func() time.Time) *Client {
	t.Helper()
	c, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "secret",
		AuthorizationURL: url, TokenURL: url, UserinfoURL: url,
		IntrospectionURL: url + "/introspect", Now: now, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randomOpaque(t testing.TB) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestIntrospectionCapsCallsInFlight: 1,000 random opaque tokens at once
// cost at most maxIntrospectionsInFlight provider calls; every other request
// is refused with ErrBusy while those calls are still held by the provider
// (no queue), and ErrBusy is an ErrUnavailable (503), not an invalid token.
func TestIntrospectionCapsCallsInFlight(t *testing.T) {
	clk := newClock()
	ep := newCountingIntrospection(clk.Now().Add(time.Hour))
	srv := httptest.NewServer(ep)
	defer srv.Close()
	c := introspectionClient(t, srv.URL, nil, clk.Now)
	released := false
	defer func() {
		if !released {
			close(ep.release)
		}
	}()
	// A failure guard, not a wait: refusals come back while the provider
	// holds its calls, so they cannot take long.
	deadline := time.After(time.Minute)

	const tokens = 1000
	results := make(chan error, tokens)
	for range tokens {
		tok := randomOpaque(t)
		go func() {
			_, err := c.VerifyBearer(context.Background(), tok)
			results <- err
		}()
	}
	for range maxIntrospectionsInFlight {
		<-ep.arrived
	}
	// The provider still holds every call it got: all other requests must
	// come back now, refused as busy.
	for i := range tokens - maxIntrospectionsInFlight {
		var err error
		select {
		case err = <-results:
		case <-deadline:
			t.Fatalf("only %d of %d requests answered while the provider was busy: they queue", i, tokens-maxIntrospectionsInFlight)
		}
		if !errors.Is(err, ErrBusy) || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			t.Fatalf("result %d while the provider is busy: %v, want ErrBusy", i, err)
		}
	}
	close(ep.release)
	released = true
	for range maxIntrospectionsInFlight {
		if err := <-results; !errors.Is(err, ErrInvalidToken) {
			t.Errorf("introspected random token: %v, want ErrInvalidToken", err)
		}
	}
	if n, m := ep.calls.Load(), ep.maxInFlight.Load(); n != maxIntrospectionsInFlight || m > maxIntrospectionsInFlight {
		t.Errorf("%d provider calls, %d at once; want %d at most %d at once", n, m, maxIntrospectionsInFlight, maxIntrospectionsInFlight)
	}
	// The slots are free again.
	if _, err := c.VerifyBearer(context.Background(), "good"); err != nil {
		t.Errorf("after the flood: %v", err)
	}
}

// TestIntrospectionSharedPerToken: 100 concurrent requests with one token
// cost one provider call, for a valid and for a refused token. The endpoint
// runs in memory inside a synctest bubble, so synctest.Wait proves every
// request is waiting before the provider answers.
func TestIntrospectionSharedPerToken(t *testing.T) {
	for _, tok := range []string{"good", "refused-token"} {
		t.Run(tok, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ep := newCountingIntrospection(time.Now().Add(time.Hour))
				c := introspectionClient(t, "https://idp.example", &http.Client{Transport: handlerTransport{ep}}, time.Now)
				var wg sync.WaitGroup
				errs := make([]error, 100)
				for i := range errs {
					wg.Go(func() { _, errs[i] = c.VerifyBearer(context.Background(), tok) })
				}
				synctest.Wait() // all 100 blocked: one in the endpoint, the rest on its result
				if n := ep.calls.Load(); n != 1 {
					t.Errorf("%d concurrent provider calls for one token, want 1", n)
				}
				close(ep.release)
				wg.Wait()
				for i, err := range errs {
					if (tok == "good") != (err == nil) {
						t.Fatalf("request %d: %v", i, err)
					}
				}
				if n := ep.calls.Load(); n != 1 {
					t.Errorf("%d provider calls, want 1", n)
				}
			})
		})
	}
}

// TestIntrospectionRefusedTokenRemembered: a refused token retried 100
// times within refusedTokenTTL costs one call, and is asked about again
// once the TTL has passed.
func TestIntrospectionRefusedTokenRemembered(t *testing.T) {
	clk := newClock()
	ep := newCountingIntrospection(clk.Now().Add(time.Hour))
	close(ep.release)
	srv := httptest.NewServer(ep)
	defer srv.Close()
	c := introspectionClient(t, srv.URL, nil, clk.Now)
	for i := range 100 {
		if _, err := c.VerifyBearer(context.Background(), "refused-token"); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("try %d: %v", i, err)
		}
		clk.Advance(refusedTokenTTL / 101)
	}
	if n := ep.calls.Load(); n != 1 {
		t.Fatalf("100 tries within %v cost %d provider calls, want 1", refusedTokenTTL, n)
	}
	clk.Advance(refusedTokenTTL)
	if _, err := c.VerifyBearer(context.Background(), "refused-token"); !errors.Is(err, ErrInvalidToken) {
		t.Fatal(err)
	}
	if n := ep.calls.Load(); n != 2 {
		t.Errorf("after the TTL: %d provider calls, want 2", n)
	}
}
