package idp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRefreshedIDTokenNonce: OpenID Connect Core §12.2. An ID token issued
// at a refresh need not carry a nonce, but one it carries must be the
// sign-in's: another nonce is not the same sign-in's token, and refuses the
// grant. It was accepted, and its nonce replaced the sign-in's in the
// session's claims. The sign-in's nonce is kept across refreshes whose ID
// token leaves it out (Keycloak repeats it, others drop it), so a later one
// is still compared.
func TestRefreshedIDTokenNonce(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	idToken := func(nonce string) string {
		now := clk.Now().Unix()
		cl := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "iat": now, "exp": now + 3600}
		if nonce != "" {
			cl["nonce"] = nonce
		}
		return `"` + p.Sign(cl, oidctest.SignOptions{}) + `"`
	}
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, step := range []struct {
		name  string
		nonce string
		ok    bool
	}{
		{"no nonce", "", true},
		{"the sign-in's nonce", "nonce-1", true},
		{"no nonce again", "", true},
		{"another nonce", "nonce-2", false},
	} {
		p.SetTokenField("id_token", idToken(step.nonce))
		t2, id2, err := c.Refresh(ctx, toks.RefreshToken, id)
		if !step.ok {
			if !errors.Is(err, ErrInvalidGrant) || id2 != nil || !strings.Contains(err.Error(), "nonce") {
				t.Fatalf("%s: err = %v, id = %+v; want ErrInvalidGrant naming the nonce", step.name, err, id2)
			}
			return
		}
		if err != nil || id2 == nil {
			t.Fatalf("%s: err = %v", step.name, err)
		}
		if id2.Claims["nonce"] != "nonce-1" {
			t.Fatalf("%s: the session's nonce is %v, want the sign-in's", step.name, id2.Claims["nonce"])
		}
		toks, id = t2, id2
	}
	t.Fatal("the refresh with another nonce was not tried")
}
