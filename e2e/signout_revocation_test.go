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

// TestSignOutRevocationSwitch: a sign-out revokes the session's refresh
// token at the provider unless [provider] revoke_on_sign_out = false keeps
// it to the gateway (where the provider's revocation ends more than this
// session: Google's ends the user's grant to the client on every device).
// Either way a new sign-in over an old session revokes nothing: it ends
// the old session at the gateway only, since revoking its token at such a
// provider would end the grant the new sign-in was just given.
func TestSignOutRevocationSwitch(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, provider string
		wantRevokes    int
	}{
		{"default", "", 1},
		{"revoke_on_sign_out = false", "revoke_on_sign_out = false\n", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := oidctest.New(t, oidctest.Options{})
			up := newUpstream(t)
			gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + tt.provider,
				Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
			c := browser(t)
			loginThrough(t, c, gw, "alice")
			if status, body, _ := get(t, c, gw.URL+"/oauth2/start?rd=%2Fapp%2Fagain"); status != http.StatusOK {
				t.Fatalf("a sign-in over the session: %d\n%s", status, body)
			}
			if n := p.Requests("/revoke"); n != 0 {
				t.Fatalf("a sign-in over an old session made %d revocation request(s), want none", n)
			}
			status, _, _ := withCookie(t, "GET", gw.URL+"/oauth2/sign_out", sessionCookie(t, c, gw), false)
			if status != http.StatusFound {
				t.Fatalf("sign-out: %d", status)
			}
			if n := p.Requests("/revoke"); n != tt.wantRevokes {
				t.Errorf("the sign-out made %d revocation request(s), want %d", n, tt.wantRevokes)
			}
			if n := p.Requests("/token"); n != 2 {
				t.Errorf("%d token requests, want the two code exchanges", n)
			}
		})
	}
}
