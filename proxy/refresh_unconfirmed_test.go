package proxy

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// TestUnconfirmedIdentityIsBounded: a refresh the provider answers but
// whose identity cannot be derived again (userinfo, the JWKS or Graph not
// answering, or Graph throttling the user, which the user can cause) keeps
// the new tokens with the session's identity (idp.Client.Refresh: a nil
// identity). Kept at every refresh, a failure that lasted, or that the
// user kept up, served the sign-in's groups until session.lifetime (12 h
// here). The identity is now kept unconfirmed for at most unconfirmedMax:
// a refresh after that fails as an outage does, and the session ends when
// its access token expires.
func TestUnconfirmedIdentityIsBounded(t *testing.T) {
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			f := endFixture(t, store == "redis")
			n := 0
			f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
				n++
				return &idp.Tokens{AccessToken: fmt.Sprintf("at-%d", n), RefreshToken: fmt.Sprintf("rt-%d", n),
					Expiry: f.clock.Now().Add(time.Hour)}, nil, nil
			}
			cookies := storedSession(t, f, 30*time.Second) // due: the first refresh is unconfirmed
			start := f.clock.Now()
			for round := 0; ; round++ {
				resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies))
				if c := liveCookies(resp); len(c) > 0 && store == "cookie" {
					cookies = c
				}
				since := f.clock.Now().Sub(start)
				if resp.StatusCode != http.StatusOK {
					if since <= unconfirmedMax {
						t.Fatalf("round %d, %s after the first unconfirmed refresh: %d, want the session kept within %s",
							round, since, resp.StatusCode, unconfirmedMax)
					}
					return
				}
				if since > unconfirmedMax+time.Hour+time.Minute {
					t.Fatalf("round %d: the identity unconfirmed for %s (%d refreshes, groups %q) still served, want the session ended after %s and its access token's life",
						round, since, n, f.up.last(t).Header.Get("X-Forwarded-Groups"), unconfirmedMax)
				}
				f.clock.Advance(30 * time.Minute)
			}
		})
	}
}
