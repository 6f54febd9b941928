package idp

import (
	"context"
	"net/http"
	"strings"
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
