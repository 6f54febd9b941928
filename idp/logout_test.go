package idp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestVerifyLogoutToken is the hostile table of OIDC Back-Channel Logout
// 1.0 §2.6.
func TestVerifyLogoutToken(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	event := map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}
	lt := func(extra map[string]any) string { return p.LogoutToken("alice", "sid-alice", extra) }
	claims := func(extra map[string]any) map[string]any {
		m := map[string]any{"iss": p.Issuer, "aud": p.ClientID, "iat": now, "jti": "j-" + time.Now().String(),
			"sub": "alice", "events": event}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	replayed := lt(map[string]any{"jti": "once"})
	if _, _, err := c.VerifyLogoutToken(context.Background(), replayed); err != nil {
		t.Fatalf("first use: %v", err)
	}
	tests := []struct {
		name  string
		token string
		sub   string
		sid   string
	}{
		{name: "valid", token: lt(nil), sub: "alice", sid: "sid-alice"},
		{name: "sid only", token: p.LogoutToken("", "s1", nil), sid: "s1"},
		{name: "typ JWT", token: p.Sign(claims(nil), oidctest.SignOptions{Typ: "JWT"}), sub: "alice"},
		{name: "typ absent", token: p.Sign(claims(nil), oidctest.SignOptions{}), sub: "alice"},
		{name: "typ at+jwt", token: p.Sign(claims(nil), oidctest.SignOptions{Typ: "at+jwt"})},
		{name: "alg none", token: p.Sign(claims(nil), oidctest.SignOptions{Alg: "none", Typ: "logout+jwt"})},
		{name: "hs256 public key", token: p.Sign(claims(nil), oidctest.SignOptions{Alg: "HS256"})},
		{name: "bad signature", token: p.Sign(claims(nil), oidctest.SignOptions{CorruptSignature: true})},
		{name: "wrong aud", token: lt(map[string]any{"aud": "other"})},
		{name: "wrong iss", token: lt(map[string]any{"iss": "https://evil.example.com"})},
		{name: "missing events", token: lt(map[string]any{"events": nil})},
		{name: "events member not an object", token: lt(map[string]any{"events": map[string]any{
			"http://schemas.openid.net/event/backchannel-logout": "yes"}})},
		{name: "other event", token: lt(map[string]any{"events": map[string]any{"urn:other": map[string]any{}}})},
		{name: "with nonce", token: lt(map[string]any{"nonce": "n"})},
		{name: "replayed jti", token: replayed},
		{name: "missing jti", token: lt(map[string]any{"jti": nil})},
		{name: "neither sub nor sid", token: p.LogoutToken("", "", nil)},
		{name: "stale iat", token: lt(map[string]any{"iat": now - 600})},
		{name: "iat in future", token: lt(map[string]any{"iat": now + 600})},
		{name: "missing iat", token: lt(map[string]any{"iat": nil})},
		{name: "string iat", token: lt(map[string]any{"iat": "1800000000"})},
		{name: "expired", token: lt(map[string]any{"exp": now - 120})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, sid, err := c.VerifyLogoutToken(context.Background(), tt.token)
			if tt.sub == "" && tt.sid == "" {
				if !errors.Is(err, ErrInvalidToken) || sub != "" || sid != "" {
					t.Fatalf("accepted: sub %q sid %q err %v", sub, sid, err)
				}
				return
			}
			if err != nil || sub != tt.sub || sid != tt.sid {
				t.Fatalf("sub %q sid %q err %v", sub, sid, err)
			}
		})
	}
}

// TestVerifyLogoutTokenReplayGuard: the shared replay guard (the redis
// store across replicas) is asked after the process memory, and both a
// replay it reports and its failure refuse the token.
func TestVerifyLogoutTokenReplayGuard(t *testing.T) {
	seen, forgot := map[string]bool{}, map[string]bool{}
	var guardErr error
	p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.ReplayForget = func(ctx context.Context, key string) error {
			delete(seen, key)
			forgot[key] = true
			return nil
		}
		cfg.ReplayGuard = func(ctx context.Context, key string, until time.Time) (bool, error) {
			if guardErr != nil {
				return false, guardErr
			}
			first := !seen[key]
			seen[key] = true
			return first, nil
		}
	})
	ctx := context.Background()
	if _, _, err := c.VerifyLogoutToken(ctx, p.LogoutToken("alice", "s", map[string]any{"jti": "a"})); err != nil {
		t.Fatalf("first use refused: %v", err)
	}
	// Another replica (empty process memory) already saw jti "b".
	seen["logout-jti\x00"+p.Issuer+"\x00b"] = true
	if _, _, err := c.VerifyLogoutToken(ctx, p.LogoutToken("alice", "s", map[string]any{"jti": "b"})); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a jti used on another replica was accepted: %v", err)
	}
	guardErr = errors.New("redis down")
	tok := p.LogoutToken("alice", "s", map[string]any{"jti": "c"})
	if _, _, err := c.VerifyLogoutToken(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("accepted although the replay guard failed: %v", err)
	}
	// The guard is back: the provider's retry of the token, never used,
	// still ends the sessions.
	guardErr = nil
	if _, sid, err := c.VerifyLogoutToken(ctx, tok); err != nil || sid != "s" {
		t.Errorf("the retried token was refused: %v", err)
	}
	if _, _, err := c.VerifyLogoutToken(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a replay after the retry was accepted: %v", err)
	}
	// The logout it asked for failed: forgotten here and in the guard, the
	// token is accepted once more.
	if err := c.ForgetLogoutToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if !forgot["logout-jti\x00"+p.Issuer+"\x00c"] {
		t.Errorf("the guard was not told to forget: %v", forgot)
	}
	if _, _, err := c.VerifyLogoutToken(ctx, tok); err != nil {
		t.Errorf("the token was refused after ForgetLogoutToken: %v", err)
	}
	if err := c.ForgetLogoutToken(ctx, "forged."+tok); err == nil {
		t.Error("a token that does not verify was forgotten")
	}
}
