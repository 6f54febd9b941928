package idp

import (
	"context"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestSignedUserinfoVerified: a userinfo answer sent as a JWT
// (application/jwt) is read only when the provider signed it for this
// client; its envelope (iss, aud, exp, iat) is not taken as the user's
// claims. A forged, unsigned, foreign, expired or encrypted one fails.
func TestSignedUserinfoVerified(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	claims := func(mod func(map[string]any)) map[string]any {
		m := map[string]any{"sub": "alice", "email": "alice@example.com", "iss": p.Issuer,
			"aud": p.ClientID, "iat": now, "exp": now + 60}
		if mod != nil {
			mod(m)
		}
		return m
	}
	got, err := c.signedUserinfo(context.Background(), "u", p.Sign(claims(nil), oidctest.SignOptions{})+"\n")
	if err != nil {
		t.Fatalf("honest signed userinfo: %v", err)
	}
	if got["email"] != "alice@example.com" || got["sub"] != "alice" {
		t.Errorf("claims = %v", got)
	}
	for _, k := range []string{"iss", "aud", "exp", "iat"} {
		if _, ok := got[k]; ok {
			t.Errorf("the answer's %s was kept as a userinfo claim", k)
		}
	}
	attacker := oidctest.NewUnpublishedKey(t, p.Key().KID, "ES256")
	for name, raw := range map[string]string{
		"unsigned":      p.Sign(claims(nil), oidctest.SignOptions{Alg: "none"}),
		"bad signature": p.Sign(claims(nil), oidctest.SignOptions{CorruptSignature: true}),
		"unknown key":   p.Sign(claims(nil), oidctest.SignOptions{Key: attacker}),
		"other client":  p.Sign(claims(func(m map[string]any) { m["aud"] = "other" }), oidctest.SignOptions{}),
		"other issuer":  p.Sign(claims(func(m map[string]any) { m["iss"] = "https://evil.example" }), oidctest.SignOptions{}),
		"expired":       p.Sign(claims(func(m map[string]any) { m["exp"] = now - 120 }), oidctest.SignOptions{}),
		"no sub":        p.Sign(claims(func(m map[string]any) { delete(m, "sub") }), oidctest.SignOptions{}),
		"encrypted":     "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
		"not a JWT":     `{"sub":"alice"}`,
		"empty":         "",
	} {
		if got, err := c.signedUserinfo(context.Background(), "u", raw); err == nil {
			t.Errorf("%s: accepted, claims %v", name, got)
		} else if strings.Contains(err.Error(), raw) && raw != "" {
			t.Errorf("%s: the error echoes the answer: %v", name, err)
		}
	}
}

// TestIsJWTMediaType: application/jwt in any case and with parameters, as
// node oidc-provider sends "application/jwt; charset=utf-8".
func TestIsJWTMediaType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/jwt": true, "application/jwt; charset=utf-8": true, "Application/JWT": true,
		"application/json": false, "": false, "application/jwt-bearer": false, "text/plain": false,
	} {
		if got := isJWTMediaType(ct); got != want {
			t.Errorf("isJWTMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}
