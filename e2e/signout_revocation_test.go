package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestSignOutWithHungRevocation: the provider's revocation endpoint stops
// answering. The session ends in Redis before the gateway asks the
// provider (a copy of the cookie is refused while the sign-out still
// waits), and the sign-out answers once the gateway gives up on the
// provider, after at most 10 s (docs/endpoints.md, sign_out), not when the
// provider does.
func TestSignOutWithHungRevocation(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{SlowDelay: time.Minute})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	ck := sessionCookie(t, c, gw)
	p.SetFaults(oidctest.FaultSlow)

	type result struct {
		status int
		took   time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		status, _, _ := withCookie(t, "GET", gw.URL+"/oauth2/sign_out", ck, false)
		done <- result{status, time.Since(start)}
	}()
	// A copy of the cookie is refused while the sign-out still waits on the
	// provider: polled, since the sign-out's delete may come later than a
	// fixed wait on a loaded machine.
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		status, _, _ := withCookie(t, "GET", gw.URL+"/app/copy", ck, false)
		if status == http.StatusUnauthorized {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("the sign-out answered (%d after %v) while a copy of its cookie still got %d", r.status, r.took, status)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("a copy of the cookie while the sign-out waits on the provider: %d, want 401", status)
		}
	}
	select {
	case r := <-done:
		if r.status != http.StatusFound || r.took > 12*time.Second {
			t.Errorf("sign-out with a hung revocation endpoint: %d after %v, want 302 within 12 s", r.status, r.took)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the sign-out waited on the hung revocation endpoint for more than 20 s")
	}
}
