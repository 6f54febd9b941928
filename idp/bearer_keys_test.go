package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestCachedBearerOutlivesWithdrawnKey: a verified JWT was cached until its
// exp, so a token signed with a key the issuer then withdrew (it leaked)
// stayed accepted after the key set was fetched again without it, for as
// long as its exp said (here a year), however often it was presented. A
// cached verification now lasts no longer than the key set that made it.
func TestCachedBearerOutlivesWithdrawnKey(t *testing.T) {
	clk := newClock()
	const iss = "https://ci.example.com"
	leaked, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	published := []jose.JSONWebKey{{Key: &leaked.PublicKey, KeyID: "old", Algorithm: "ES256", Use: "sig"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: published})
	}))
	defer srv.Close()
	c, err := New(Config{Kind: "oauth2", ClientID: "client", AuthorizationURL: srv.URL, TokenURL: srv.URL,
		UserinfoURL: srv.URL, Now: clk.Now,
		ExtraIssuers: []ExtraIssuer{{Issuer: iss, Audiences: []string{"ci"}, JWKSURL: srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: leaked, KeyID: "old"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now().Unix()
	payload, _ := json.Marshal(map[string]any{"iss": iss, "sub": "attacker", "aud": "ci", "iat": now, "exp": now + 365*24*3600})
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.VerifyBearer(ctx, tok); err != nil {
		t.Fatalf("before the key is withdrawn: %v", err)
	}
	// The issuer withdraws the leaked key; the token keeps being presented.
	mu.Lock()
	published = nil
	mu.Unlock()
	for range 4 {
		clk.Advance(3 * time.Minute)
		_, _ = c.VerifyBearer(ctx, tok)
	}
	clk.Advance(jwksMaxAge)
	if id, err := c.VerifyBearer(ctx, tok); err == nil {
		t.Errorf("token signed with a key withdrawn %s ago still accepted (cached): %+v", 12*time.Minute+jwksMaxAge, id)
	}
}
