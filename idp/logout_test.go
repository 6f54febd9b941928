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
	if err := c.MarkLogoutTokenUsed(context.Background(), replayed); err != nil {
		t.Fatalf("recording the first use: %v", err)
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
		{name: "aud array with the client", token: lt(map[string]any{"aud": []string{p.ClientID}}), sub: "alice", sid: "sid-alice"},
		{name: "aud with an untrusted audience", token: lt(map[string]any{"aud": []string{p.ClientID, "another-client"}})},
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

// TestVerifyLogoutTokenReplayGuard: a token is recorded as used (in the
// process and in the shared guard) only once its logout took effect
// (MarkLogoutTokenUsed); a token another replica recorded is refused, and
// so is one the guard cannot be asked about. A logout that failed, the
// guard down or the sessions not deleted, is accepted when retried.
func TestVerifyLogoutTokenReplayGuard(t *testing.T) {
	seen := map[string]bool{}
	var guardErr error
	p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.ReplaySeen = func(ctx context.Context, key string) (bool, error) {
			return seen[key], guardErr
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
	tok := p.LogoutToken("alice", "s", map[string]any{"jti": "a"})
	if _, _, err := c.VerifyLogoutToken(ctx, tok); err != nil {
		t.Fatalf("first use refused: %v", err)
	}
	// Its logout failed (not recorded): the retry is accepted.
	if _, sid, err := c.VerifyLogoutToken(ctx, tok); err != nil || sid != "s" {
		t.Fatalf("the retry of a logout that failed was refused: %v", err)
	}
	if err := c.MarkLogoutTokenUsed(ctx, tok); err != nil || !seen["logout-jti\x00"+p.Issuer+"\x00a"] {
		t.Fatalf("recording: %v, guard %v", err, seen)
	}
	if _, _, err := c.VerifyLogoutToken(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a replay after the logout took effect was accepted: %v", err)
	}
	// Another replica (empty process memory) already recorded jti "b".
	seen["logout-jti\x00"+p.Issuer+"\x00b"] = true
	if _, _, err := c.VerifyLogoutToken(ctx, p.LogoutToken("alice", "s", map[string]any{"jti": "b"})); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a jti used on another replica was accepted: %v", err)
	}
	// The guard cannot be asked: refused, and accepted once it answers.
	guardErr = errors.New("redis down")
	c2 := p.LogoutToken("alice", "s", map[string]any{"jti": "c"})
	if _, _, err := c.VerifyLogoutToken(ctx, c2); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("accepted although the replay guard failed: %v", err)
	}
	// Its logout took effect but the guard could not record it: this
	// process still refuses a replay.
	if err := c.MarkLogoutTokenUsed(ctx, c2); err == nil {
		t.Error("recording succeeded although the guard failed")
	}
	guardErr = nil
	if _, _, err := c.VerifyLogoutToken(ctx, c2); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a replay in the process that recorded the token was accepted: %v", err)
	}
	if err := c.MarkLogoutTokenUsed(ctx, "forged."+tok); err == nil {
		t.Error("a token that does not verify was recorded")
	}
}
