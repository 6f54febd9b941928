package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// issuedTokens records the refresh tokens the provider's token endpoint
// hands out, as a client holding the answer would see them.
type issuedTokens struct {
	mu  sync.Mutex
	rts []string
}

func (it *issuedTokens) transport() http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil || !strings.HasSuffix(r.URL.Path, "/token") {
			return resp, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var tr struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &tr) == nil && tr.RefreshToken != "" {
			it.mu.Lock()
			it.rts = append(it.rts, tr.RefreshToken)
			it.mu.Unlock()
		}
		return resp, nil
	})
}

func (it *issuedTokens) last() string {
	it.mu.Lock()
	defer it.mu.Unlock()
	if len(it.rts) == 0 {
		return ""
	}
	return it.rts[len(it.rts)-1]
}

// TestRefusedRefreshRevokesIssuedToken: a refresh the gateway refuses after
// the provider answered it (another sub in the ID token or at userinfo, an
// identity the sign-in would refuse) ends the session. The provider has
// issued a new refresh token in that answer, and rotated the presented one
// away: unrevoked, the grant stayed alive at the provider, whereas a
// sign-out revokes the session's refresh token. The refusal also ends the
// session (ErrInvalidGrant) instead of leaving the sign-in's identity in
// use until the access token expires.
func TestRefusedRefreshRevokesIssuedToken(t *testing.T) {
	alice := map[string]any{"email": "a@example.com", "email_verified": true, "hd": "example.com"}
	tests := []struct {
		name   string
		fault  oidctest.Fault
		after  map[string]any // the user's claims at the refresh; nil = unchanged
		config func(*Config)
	}{
		{name: "ID token names another sub", fault: oidctest.FaultChangedSub},
		{name: "userinfo names another sub", fault: oidctest.FaultUserinfoOtherSub},
		{name: "no ID token, userinfo names another sub", fault: oidctest.FaultUserinfoOtherSub | oidctest.FaultNoIDToken},
		{name: "hosted domain no longer met", config: func(cfg *Config) { cfg.Kind, cfg.HostedDomain = "google", "example.com" },
			after: map[string]any{"email": "a@example.org", "email_verified": true, "hd": "example.org"}},
		{name: "user_claim email no longer verified", config: func(cfg *Config) { cfg.UserClaim, cfg.EmailClaim = "email", "email" },
			after: map[string]any{"email": "a@example.com", "email_verified": false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var it issuedTokens
			p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice", Claims: alice}},
				func(cfg *Config) {
					cfg.HTTPClient = &http.Client{Transport: it.transport()}
					if tt.config != nil {
						tt.config(cfg)
					}
				})
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			p.SetFaults(tt.fault)
			if tt.after != nil {
				p.SetUser(oidctest.User{Subject: "alice", Claims: tt.after})
			}
			_, _, err = c.Refresh(context.Background(), toks.RefreshToken, id)
			if !errors.Is(err, ErrInvalidGrant) {
				t.Fatalf("refresh: %v, want ErrInvalidGrant", err)
			}
			issued := it.last()
			if issued == "" || issued == toks.RefreshToken {
				t.Fatalf("the refresh answer issued no new refresh token (%q)", issued)
			}
			if !p.Revoked(issued) {
				t.Errorf("the refresh token issued in the refused answer stays valid at the provider (revocations: %d)",
					p.Requests("/revoke"))
			}
		})
	}
}

// TestRefreshJWKSOutageKeepsGrant: a refreshed ID token signed with a key
// the gateway does not hold yet, while the provider's JWKS cannot be
// fetched (a key rotation during an outage), was refused as a grant: the
// session ended and the refresh token was revoked at the provider, for a
// provider that could not be reached. It is now an outage (the new tokens
// stand, with the session's identity: TestRefreshAnswerKeptThroughAnOutage),
// nothing is revoked, and once the JWKS answers again a token no key verifies still
// refuses the grant. Within the cool-down of the failed fetch the refresh
// is an outage too, not a token no old key verifies.
func TestRefreshJWKSOutageKeepsGrant(t *testing.T) {
	var jwksDown atomic.Bool
	var it issuedTokens
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if jwksDown.Load() && strings.HasSuffix(r.URL.Path, "/jwks") {
				return nil, errors.New("jwks unreachable")
			}
			return it.transport().RoundTrip(r)
		})}
	})
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute) // past the login fetch's cool-down
	p.SetFaults(oidctest.FaultUnknownKID)
	jwksDown.Store(true)
	rt := toks.RefreshToken
	for _, when := range []string{"fetch failing", "within the failed fetch's cool-down"} {
		t2, id2, err := c.Refresh(context.Background(), rt, id)
		if err != nil || t2 == nil || id2 != nil || t2.RefreshToken != it.last() {
			t.Fatalf("%s: refresh = %v (identity %v), want the new tokens with the session's identity (nil), not a refused grant", when, err, id2)
		}
		if issued := it.last(); p.Revoked(issued) || p.Requests("/revoke") != 0 {
			t.Fatalf("%s: the refresh token was revoked during a JWKS outage", when)
		}
		rt = t2.RefreshToken // the provider rotated the one presented: the answer is kept (review JJ)
	}
	jwksDown.Store(false)
	clk.Advance(time.Minute)
	if _, _, err = c.Refresh(context.Background(), rt, id); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("JWKS reachable, unknown key: refresh = %v, want ErrInvalidGrant", err)
	}
}

// TestRefreshPlainOAuthRefusedIdentity: a plain OAuth 2.0 provider's
// refresh whose userinfo now describes an identity the sign-in would refuse
// (user_claim = "email" and the address no longer verified) was taken for
// an outage: the session kept serving the sign-in's identity until its
// access token expired. It refuses the grant, as with an OIDC provider.
func TestRefreshPlainOAuthRefusedIdentity(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "u-1",
		Claims: map[string]any{"email": "u@example.com", "email_verified": true}}})
	c, err := New(Config{Kind: "oauth2", ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		AuthorizationURL: p.Issuer + "/authorize", TokenURL: p.Issuer + "/token", UserinfoURL: p.Issuer + "/userinfo",
		Scopes: []string{"profile"}, UserClaim: "email"})
	if err != nil {
		t.Fatal(err)
	}
	code := authorize(t, c, "st", "", testVerifier)
	toks, id, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
	if err != nil || toks.RefreshToken == "" {
		t.Fatalf("exchange: %v, refresh token %q", err, toks.RefreshToken)
	}
	p.SetUser(oidctest.User{Subject: "u-1", Claims: map[string]any{"email": "u@example.com", "email_verified": false}})
	if _, _, err := c.Refresh(context.Background(), toks.RefreshToken, id); !errors.Is(err, ErrInvalidGrant) {
		t.Fatalf("refresh: %v, want ErrInvalidGrant", err)
	}
}
