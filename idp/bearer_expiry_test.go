package idp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBearerIdentityEndsWhenTheTokenStopsVerifying: a JWT access token is
// accepted up to its exp plus the 30 s leeway, and its identity's Expiry,
// which ends the forwarded answer, open connections and the assertion, is
// that same instant. It was exp: a token within the leeway was forwarded
// with an identity already ended, and the proxy broke its answer off.
func TestBearerIdentityEndsWhenTheTokenStopsVerifying(t *testing.T) {
	for _, age := range []time.Duration{20 * time.Second, -time.Minute} {
		p, c, clk := setup(t, oidctest.Options{}, nil)
		exp := clk.Now().Add(-age).Truncate(time.Second)
		tok := p.AccessToken("alice", map[string]any{"exp": exp.Unix()})
		id, err := c.VerifyBearer(context.Background(), tok)
		if err != nil {
			t.Fatalf("exp %v ago: %v", age, err)
		}
		if want := exp.Add(leeway); !id.Expiry.Equal(want) {
			t.Errorf("exp %v ago: Expiry %v, want %v (exp plus the leeway)", age, id.Expiry, want)
		}
		if !id.Expiry.After(clk.Now()) {
			t.Errorf("exp %v ago: accepted with an identity that ended at %v", age, id.Expiry)
		}
		clk.Advance(id.Expiry.Sub(clk.Now()) - time.Second)
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Errorf("exp %v ago: refused a second before its identity's end: %v", age, err)
		}
		clk.Advance(time.Second)
		if _, err := c.VerifyBearer(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("exp %v ago: accepted at its identity's end: %v", age, err)
		}
	}
}
