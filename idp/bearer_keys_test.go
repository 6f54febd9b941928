package idp

import (
	"context"
	"testing"
	"time"
)

// TestCachedBearerOutlivesWithdrawnKey: a verified JWT was cached until its
// exp, so a token signed with a key the issuer then withdrew (it leaked)
// stayed accepted after the key set was fetched again without it, for as
// long as its exp said (here a year), however often it was presented. A
// cached verification now lasts no longer than the key set that made it.
func TestCachedBearerOutlivesWithdrawnKey(t *testing.T) {
	clk := newClock()
	leaked := esKey(t)
	ci := newCIIssuer(t, clk, esPub(leaked, "old"))
	tok := ci.sign(t, leaked, "old", "attacker", 365*24*3600)
	ctx := context.Background()
	if _, err := ci.c.VerifyBearer(ctx, tok); err != nil {
		t.Fatalf("before the key is withdrawn: %v", err)
	}
	// The issuer withdraws the leaked key; the token keeps being presented.
	ci.publish()
	for range 4 {
		clk.Advance(3 * time.Minute)
		_, _ = ci.c.VerifyBearer(ctx, tok)
	}
	clk.Advance(jwksMaxAge)
	if id, err := ci.c.VerifyBearer(ctx, tok); err == nil {
		t.Errorf("token signed with a key withdrawn %s ago still accepted (cached): %+v", 12*time.Minute+jwksMaxAge, id)
	}
}
