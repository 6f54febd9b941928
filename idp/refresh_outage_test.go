package idp

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRefreshAnswerKeptThroughAnOutage: the provider answered a refresh
// (it spent the refresh token and issued a new one), and what the gateway
// reads next to complete the identity failed for a moment: a plain OAuth
// 2.0 provider's userinfo answering 503, or the JWKS answering 503 for an
// ID token signed with a key the gateway does not hold yet (a rotation).
// The answer was dropped: the session kept the refresh token the provider
// had just spent, and its next refresh, once the provider was back, was
// refused with invalid_grant and ended the session. The new tokens now
// stand, with the identity the session had (nil), and the next refresh
// succeeds.
func TestRefreshAnswerKeptThroughAnOutage(t *testing.T) {
	for name, tc := range map[string]struct {
		client func(t *testing.T) (*oidctest.Provider, *Client, *clock)
		fail   func(p *oidctest.Provider, clk *clock)
		heal   func(p *oidctest.Provider)
	}{
		"plain OAuth 2.0, userinfo 503": {
			client: func(t *testing.T) (*oidctest.Provider, *Client, *clock) {
				p := oidctest.New(t, oidctest.Options{})
				return p, plainOAuthClient(t, p), nil
			},
			fail: func(p *oidctest.Provider, _ *clock) { p.SetRedirect("/userinfo", http.StatusServiceUnavailable, "/") },
			heal: func(p *oidctest.Provider) { p.SetRedirect("/userinfo", 0, "") },
		},
		"OIDC, JWKS 503 for a new key": {
			client: func(t *testing.T) (*oidctest.Provider, *Client, *clock) {
				return setup(t, oidctest.Options{}, nil)
			},
			fail: func(p *oidctest.Provider, clk *clock) {
				clk.Advance(time.Minute) // past the JWKS cool-down of the sign-in's fetch
				p.SetRedirect("/jwks", http.StatusServiceUnavailable, "/")
				p.SetFaults(oidctest.FaultUnknownKID)
			},
			heal: func(p *oidctest.Provider) { p.SetRedirect("/jwks", 0, ""); p.SetFaults(0) },
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, c, clk := tc.client(t)
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			tc.fail(p, clk)
			ctx := context.Background()
			t2, id2, err := c.Refresh(ctx, toks.RefreshToken, id)
			if err != nil {
				t.Fatalf("refresh answered by the provider, identity unreadable for a moment: err = %v, want the new tokens", err)
			}
			if t2.RefreshToken == "" || t2.RefreshToken == toks.RefreshToken || t2.AccessToken == toks.AccessToken {
				t.Fatalf("tokens not the provider's new ones: rotated %v", t2.RefreshToken != toks.RefreshToken)
			}
			if id2 != nil || t2.IDToken != "" {
				t.Errorf("identity %v, ID token kept %v: want nil (the session's stands) and no unverified ID token", id2, t2.IDToken != "")
			}
			tc.heal(p)
			t3, id3, err := c.Refresh(ctx, t2.RefreshToken, id)
			if err != nil || t3 == nil || id3 == nil || id3.Subject != id.Subject {
				t.Fatalf("next refresh, provider back: err = %v, identity %v", err, id3)
			}
		})
	}
}
