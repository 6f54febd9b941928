package idp

// Bearer tokens, key sets, introspection and the identity mapping seen
// from an attacker's side: a withdrawn key, an unverified address as the
// user, a refresh token presented as an access token, and an email
// verification carried over to another address.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestWithdrawnSigningKeyIsDropped: the key set of an issuer is
// fetched again only when a token fails to verify against it (unknown kid,
// bad signature). A key the issuer withdrew from its JWKS (rotation ended,
// or the key leaked and was revoked) therefore stays trusted for as long as
// the process runs: honest tokens, signed with the remaining key, verify
// against the cached set and never cause the fetch that would drop it, and
// the attacker's tokens, signed with the withdrawn key, verify too.
func TestWithdrawnSigningKeyIsDropped(t *testing.T) {
	clk := newClock()
	leaked, current := esKey(t), esKey(t)
	ci := newCIIssuer(t, clk, esPub(leaked, "old"), esPub(current, "new"))
	ctx := context.Background()
	honest := func() string { return ci.sign(t, current, "new", "deploy-bot", 600) }
	if _, err := ci.c.VerifyBearer(ctx, honest()); err != nil {
		t.Fatalf("honest token: %v", err)
	}
	ci.publish(esPub(current, "new")) // the issuer withdraws the old key
	// A month of honest traffic later...
	for range 30 {
		clk.Advance(24 * time.Hour)
		if _, err := ci.c.VerifyBearer(ctx, honest()); err != nil {
			t.Fatalf("honest token: %v", err)
		}
	}
	// ...a token signed with the withdrawn key is still accepted.
	id, err := ci.c.VerifyBearer(ctx, ci.sign(t, leaked, "old", "attacker", 600))
	if err == nil {
		t.Errorf("token signed with a key withdrawn from the JWKS 30 days ago accepted (JWKS fetched %d time(s) in all): %+v",
			ci.fetches.Load(), id)
	}
}

// ciIssuer is an extra issuer trusted for bearer tokens (audience "ci")
// whose JWKS the test publishes, with a client that trusts it.
type ciIssuer struct {
	c         *Client
	clk       *clock
	mu        sync.Mutex
	published []jose.JSONWebKey
	fetches   atomic.Int32
}

const ciIssuerURL = "https://ci.example.com"

func newCIIssuer(t *testing.T, clk *clock, keys ...jose.JSONWebKey) *ciIssuer {
	ci := &ciIssuer{clk: clk, published: keys}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ci.fetches.Add(1)
		ci.mu.Lock()
		defer ci.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: ci.published})
	}))
	t.Cleanup(srv.Close)
	c, err := New(Config{Kind: "oauth2", ClientID: "client", AuthorizationURL: srv.URL, TokenURL: srv.URL,
		UserinfoURL: srv.URL, Now: clk.Now,
		ExtraIssuers: []ExtraIssuer{{Issuer: ciIssuerURL, Audiences: []string{"ci"}, JWKSURL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	ci.c = c
	return ci
}

// publish replaces the issuer's JWKS.
func (ci *ciIssuer) publish(keys ...jose.JSONWebKey) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	ci.published = keys
}

// sign issues an ES256 access token for sub, valid for ttl seconds.
func (ci *ciIssuer) sign(t *testing.T, k *ecdsa.PrivateKey, kid, sub string, ttl int64) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := ci.clk.Now().Unix()
	payload, _ := json.Marshal(map[string]any{"iss": ciIssuerURL, "sub": sub, "aud": "ci", "iat": now, "exp": now + ttl})
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func esKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func esPub(k *ecdsa.PrivateKey, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"}
}

// TestUnverifiedEmailIsNotTheUser: with user_claim = "email" (a
// set-up docs/sessions.md describes: "the upstream sees the email"), an
// address the provider did not verify becomes the identity's Subject, so it
// reaches the upstream as X-Forwarded-User and as the assertion's sub,
// although the gateway otherwise holds that an unverified address is never
// identity (verifiedEmail, TestUnverifiedEmailNotForwarded): someone who
// registers another person's address at the provider (self-service sign-up,
// a profile edit) is that person to an app keyed on the user header.
func TestUnverifiedEmailIsNotTheUser(t *testing.T) {
	const victim = "ceo@corp.example"
	t.Run("bearer", func(t *testing.T) {
		p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.UserClaim = "email" })
		tok := p.AccessToken("mallory-sub", map[string]any{"email": victim, "email_verified": false})
		id, err := c.VerifyBearer(context.Background(), tok)
		if err == nil && id.Subject == victim {
			t.Errorf("unverified email accepted as the user: Subject %q, EmailVerified %v", id.Subject, id.EmailVerified)
		}
	})
	t.Run("login", func(t *testing.T) {
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "mallory-sub",
			Claims: map[string]any{"email": victim, "email_verified": false}}},
			func(cfg *Config) { cfg.UserClaim = "email" })
		_, id, err := login(t, c)
		if err == nil && id.Subject == victim {
			t.Errorf("unverified email accepted as the user: Subject %q, EmailVerified %v", id.Subject, id.EmailVerified)
		}
	})
}

// TestIntrospectedRefreshTokenIsNotAnAccessToken: RFC 7662 §2.1
// makes token_type_hint only a hint (a server that does not find the token
// as an access token MUST search its other types), so an opaque refresh
// token of our client is answered active, with our client_id and the
// refresh token's long exp. Ory Hydra says which in token_use. The gateway
// never looks, so a refresh token, which the token endpoint honours only
// with the client's secret (RFC 6749 §10.4), is a bearer credential at the
// gateway by itself, for the refresh token's whole lifetime.
func TestIntrospectedRefreshTokenIsNotAnAccessToken(t *testing.T) {
	clk := newClock()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("token") != "ory_rt_opaque-refresh-token" {
			_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
			return
		}
		// Ory Hydra's answer for a refresh token (IntrospectedOAuth2Token).
		_ = json.NewEncoder(w).Encode(map[string]any{
			"active": true, "client_id": "client", "sub": "alice", "iss": "https://idp.example.com",
			"iat": clk.Now().Unix(), "exp": clk.Now().Add(30 * 24 * time.Hour).Unix(),
			"scope": "openid offline_access", "token_type": "Bearer", "token_use": "refresh_token",
		})
	}))
	defer srv.Close()
	c, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "secret",
		AuthorizationURL: srv.URL, TokenURL: srv.URL, UserinfoURL: srv.URL,
		IntrospectionURL: srv.URL + "/introspect", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := c.VerifyBearer(context.Background(), "ory_rt_opaque-refresh-token"); err == nil {
		t.Errorf("a refresh token (token_use refresh_token) accepted as a bearer access token: %+v", id)
	}
}

// TestRefreshDoesNotMoveEmailVerification: a refresh completes the new
// ID token's claims from the session's (mergeMissing) and asks userinfo
// nothing. When the provider sends email in the ID token and email_verified
// only from userinfo (OIDC Core 5.4 returns the email scope's claims from
// userinfo in the code flow; Keycloak maps the two with separate mappers),
// a user who changes their address at the provider to someone else's,
// unverified, has it counted verified at the next refresh: the
// email_verified merged in belongs to the old address.
func TestRefreshDoesNotMoveEmailVerification(t *testing.T) {
	const victim = "ceo@corp.example"
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "mallory",
		Claims:         map[string]any{"email": "mallory@example.com"},
		UserinfoClaims: map[string]any{"email_verified": true}}}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if id.Email != "mallory@example.com" || !id.EmailVerified {
		t.Fatalf("login identity = %+v", id)
	}
	// Mallory changes her address at the provider; it is not verified.
	p.SetUser(oidctest.User{Subject: "mallory", Claims: map[string]any{"email": victim},
		UserinfoClaims: map[string]any{"email_verified": false}})
	_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if id2.Email == victim && id2.EmailVerified {
		t.Errorf("after a refresh the unverified address %q counts as verified (email_verified carried over from %q)",
			id2.Email, id.Email)
	}
}
