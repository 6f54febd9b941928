package idp

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/idp/directory"
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

// TestRefreshIntoOverageGraphOutage: an Entra ID refresh whose new ID token
// is in a groups overage reads Graph then; Graph answering 503 dropped the
// answer the provider had given (the refresh token presented spent), as in
// TestRefreshAnswerKeptThroughAnOutage. An answer that refuses (403: the
// permission withdrawn) still fails the refresh: it is not an outage, and
// keeping the sign-in's groups would outlive it. So does the user's own
// read budget spent (status 0 below): it is the user's doing, and kept as
// an outage it let them keep the sign-in token's groups, one they were
// just removed from, for unconfirmedMax (an hour) by signing in again
// and again, which groups_refresh reads no longer allow (groupsEndSession).
func TestRefreshIntoOverageGraphOutage(t *testing.T) {
	for _, tc := range []struct {
		status int
		kept   bool
	}{{http.StatusServiceUnavailable, true}, {http.StatusForbidden, false}, {0, false}} {
		t.Run(cmp.Or(http.StatusText(tc.status), "budget spent"), func(t *testing.T) {
			dir := &stubDirectory{}
			p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: map[string]any{
				"groups": []any{"g-1"}}}},
				func(cfg *Config) { cfg.Kind, cfg.Directory = "entra", dir })
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			dir.set(nil, &directory.StatusError{Source: "graph", URL: "https://graph.example/v1.0/me", Status: tc.status})
			if tc.status == 0 { // the user's reads spent: Graph is never asked
				dir.set([]string{"g-2"}, nil)
				for spent := false; !spent; {
					_, ok := c.dir.budget.take(providerSubject(id))
					spent = !ok
				}
			}
			p.SetUser(oidctest.User{Subject: "oid", Claims: map[string]any{
				"_claim_names":   map[string]any{"groups": "src1"},
				"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/t/users/oid/getMemberObjects"}}}})
			t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			switch {
			case tc.kept && (err != nil || t2 == nil || id2 != nil || !t2.GroupsReadAt.IsZero()):
				t.Fatalf("Graph 503: err = %v, identity %v: want the new tokens, the session's identity (nil), no read time", err, id2)
			case !tc.kept && err == nil:
				t.Fatalf("Graph %d: the refresh succeeded (identity %v), want it to fail", tc.status, id2)
			}
		})
	}
}

// TestRefreshRedirectIsNoOutage: a redirect is an answer, not a provider
// that cannot answer (userinfo sending the new access token's bearer to a
// sign-in page refuses it), yet getJSON wraps it in ErrUnavailable, so a
// refresh whose userinfo redirected was kept with the session's identity
// as through an outage. It fails the refresh as before, as a redirect does
// at every other step of a refresh (docs/security.md).
func TestRefreshRedirectIsNoOutage(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	c := plainOAuthClient(t, p)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	p.SetRedirect("/userinfo", http.StatusFound, "/authorize")
	t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err == nil || !errors.Is(err, ErrRedirect) {
		t.Fatalf("userinfo redirected at a refresh: err = %v (tokens kept %v, identity %v), want the refresh failed with ErrRedirect",
			err, t2 != nil, id2)
	}
}
