package idp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// slowJWKS delays every JWKS fetch by d (an IdP across the Internet: tens
// of ms), honouring the request's context like a real transport does.
type slowJWKS struct {
	d    time.Duration
	base http.RoundTripper
}

func (s slowJWKS) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/jwks") {
		select {
		case <-time.After(s.d):
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return s.base.RoundTrip(r)
}

// gatedJWKS holds every JWKS fetch until open is closed (a provider that
// answers when the test says so), honouring the request's context.
type gatedJWKS struct {
	open <-chan struct{}
	base http.RoundTripper
}

func (g gatedJWKS) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/jwks") {
		select {
		case <-g.open:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return g.base.RoundTrip(r)
}

// TestJWKSFetchOutlivesItsRequest: an anonymous client that sends a JWT
// with the provider's iss and an unknown kid, and hangs up at once, must not
// end the JWKS fetch it started: a failed fetch holds off the next for 5 s,
// and keys load lazily, so right after start (or a key rotation) every
// honest bearer token and every login would be refused in that window, one
// such request every 5 s keeping the gateway without keys.
func TestJWKSFetchOutlivesItsRequest(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second,
			Transport: slowJWKS{d: 200 * time.Millisecond, base: http.DefaultTransport}}
	})
	rogue := oidctest.NewUnpublishedKey(t, "attacker", "RS256")
	now := clk.Now().Unix()
	attack := func() {
		tok := p.Sign(map[string]any{"iss": p.Issuer, "sub": "x", "aud": p.ClientID, "iat": now, "exp": now + 60},
			oidctest.SignOptions{Key: rogue, KID: "random-kid"})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // the client hangs up
		defer cancel()
		if _, err := c.VerifyBearer(ctx, tok); err == nil {
			t.Fatal("attacker token accepted")
		}
	}
	honest := p.AccessToken("alice", map[string]any{"aud": p.ClientID})

	attack()
	id, err := c.VerifyBearer(context.Background(), honest)
	if err != nil {
		t.Errorf("honest bearer token refused after a client hung up on a JWKS fetch: %v", err)
	}
	// And again at the next window: the attacker keeps the gateway keyless.
	clk.Advance(6 * time.Second)
	if id == nil {
		attack()
		if _, err := c.VerifyBearer(context.Background(), honest); err != nil {
			t.Errorf("still refused 6 s later after one more hung-up request: %v (JWKS fetches: %d)", err, p.Requests("/jwks"))
		}
	}
	// Logins use the same key set: a fresh ID token fails the same way.
	clk.Advance(6 * time.Second)
	attack()
	if _, _, err := login(t, c); err != nil {
		t.Errorf("login refused after an anonymous client hung up on a JWKS fetch: %v", err)
	}
}

// TestJWKSWaitEndsWithTheRequest: while a JWKS fetch is in flight (a slow or
// unreachable provider: up to the 10 s timeout), every request whose JWT
// names an unknown kid waited for it on a mutex that ignores the request's
// context, and went on waiting after its client hung up. An anonymous
// client sending such tokens and hanging up at once parked a goroutine and
// its request, headers included, for up to 10 s per request without holding
// a connection: memory grew with the request rate for as long as the
// provider was slow. A waiting request now gives up when its client does;
// the fetch goes on for the others.
func TestJWKSWaitEndsWithTheRequest(t *testing.T) {
	open := make(chan struct{}) // the provider answers the JWKS fetch when closed
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second,
			Transport: gatedJWKS{open: open, base: http.DefaultTransport}}
	})
	rogue := oidctest.NewUnpublishedKey(t, "attacker", "RS256")
	now := clk.Now().Unix()
	// Signed before any client starts its 20 ms: on a loaded machine the
	// others' signing could take that long and more.
	toks := make([]string, 20)
	for i := range toks {
		toks[i] = p.Sign(map[string]any{"iss": p.Issuer, "sub": "x", "aud": p.ClientID, "iat": now, "exp": now + 60},
			oidctest.SignOptions{Key: rogue, KID: fmt.Sprintf("kid-%d", i)})
	}
	var wg sync.WaitGroup
	for _, tok := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // the client hangs up
			defer cancel()
			if _, err := c.VerifyBearer(ctx, tok); err == nil {
				t.Error("attacker token accepted")
			}
		}()
	}
	returned := make(chan struct{})
	go func() { wg.Wait(); close(returned) }()
	// The fetch is held until every request returned, so a request that
	// waits for it past its client's end is seen as such, however slow the
	// machine; the bound stays under the fetch's own 10 s timeout, which
	// would otherwise release the waiters.
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Error("requests whose clients hung up after 20 ms are held by the JWKS fetch in flight")
	}
	close(open)
	<-returned
	// The fetch itself went on: an honest token verifies once it is done.
	honest := p.AccessToken("alice", map[string]any{"aud": p.ClientID})
	if _, err := c.VerifyBearer(context.Background(), honest); err != nil {
		t.Errorf("honest token after the fetch: %v", err)
	}
	if n := p.Requests("/jwks"); n != 1 {
		t.Errorf("%d JWKS fetches, want 1", n)
	}
}
