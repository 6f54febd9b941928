package idp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestGitHubTokenWithInvalidBytes: GitHub's form-encoded token answer can
// carry any byte (%FF). A token that is not 1*VSCHAR (RFC 6749 Appendix
// A.12) fails the login at the exchange, before the token is used or
// saved: a session (JSON) would have kept it changed (U+FFFD), and the
// user signed out later with no error naming the cause. The error names
// the field and the byte, never the token.
func TestGitHubTokenWithInvalidBytes(t *testing.T) {
	for _, tok := range []string{"gho_abc\xff", "gho_abc\xc3\xa9", "gho_a b", "gho_a\x00b", "gho_a\tb", "gho_a\x7f"} {
		t.Run(tok, func(t *testing.T) {
			g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 1, Login: "octocat", Email: "o@example.com"})
			g.SetTokenField("access_token", tok)
			c := githubClient(t, g)
			code := authorize(t, c, "st", "", testVerifier)
			toks, id, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
			if !errors.Is(err, ErrInvalidTokenResponse) || toks != nil || id != nil {
				t.Fatalf("access_token %q: err = %v, tokens %+v", tok, err, toks)
			}
			if !strings.Contains(err.Error(), "access_token has the character 0x") || strings.Contains(err.Error(), "gho_a") {
				t.Errorf("err = %q: names no field and byte, or quotes the token", err)
			}
			if n := g.Requests("/user"); n != 0 {
				t.Errorf("the refused token was used at /user %d times", n)
			}
		})
	}
	t.Run("every visible character", func(t *testing.T) {
		g := oidctest.NewGitHub(t, oidctest.GitHubUser{ID: 1, Login: "octocat", Email: "o@example.com"})
		const tok = `gho_!"#$%&'()*+,-./:;<=>?@[\]^_{|}~` + "`"
		g.SetTokenField("access_token", tok)
		c := githubClient(t, g)
		code := authorize(t, c, "st", "", testVerifier)
		toks, _, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
		if err != nil || toks.AccessToken != tok {
			t.Fatalf("err = %v, tokens %+v", err, toks)
		}
	})
}

// TestTokenResponseCharacters: each token of an OIDC token answer, at the
// code exchange and at a refresh, is refused when it has a character its
// syntax does not allow (access_token and refresh_token: RFC 6749 VSCHAR
// without the space; id_token: a compact JWS's), with
// ErrInvalidTokenResponse; a refresh so refused is not a refused grant.
func TestTokenResponseCharacters(t *testing.T) {
	bad := []struct{ field, raw string }{
		{"access_token", `"at\u00e9"`},
		{"access_token", "\"at\xff\""},
		{"access_token", `"a t"`},
		{"refresh_token", `"rt\u0000"`},
		{"refresh_token", `"r t"`},
		{"refresh_token", `"rt\u2028"`},
		{"id_token", `"eyJhbGciOiJSUzI1NiJ9.e30.\u00e9"`},
		{"id_token", `"a b.c.d"`},
	}
	for _, tc := range bad {
		t.Run("login "+tc.field+" "+tc.raw, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			p.SetTokenField(tc.field, tc.raw)
			toks, id, err := login(t, c)
			if !errors.Is(err, ErrInvalidTokenResponse) || toks != nil || id != nil ||
				!strings.Contains(err.Error(), tc.field+": ") && !strings.Contains(err.Error(), tc.field+" has") {
				t.Fatalf("err = %v", err)
			}
			if n := p.Requests("/userinfo"); n != 0 {
				t.Errorf("userinfo asked %d times with a refused answer", n)
			}
		})
		t.Run("refresh "+tc.field+" "+tc.raw, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			p.SetTokenField(tc.field, tc.raw)
			t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			if !errors.Is(err, ErrInvalidTokenResponse) || errors.Is(err, ErrInvalidGrant) || t2 != nil || id2 != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
	t.Run("refresh_token of visible characters", func(t *testing.T) {
		p, c, _ := setup(t, oidctest.Options{}, nil)
		const rt = `r!#$%&'()*+,-./:;<=>?@[]^_{|}~`
		p.SetTokenField("refresh_token", `"`+rt+`"`)
		toks, _, err := login(t, c)
		if err != nil || toks.RefreshToken != rt {
			t.Fatalf("err = %v, tokens %+v", err, toks)
		}
	})
}

// TestVerifyBearerOpaqueCharacters: an opaque bearer token that is not an
// RFC 6750 b64token (a byte outside ASCII, a space, '=' before the end)
// is invalid without an introspection request, and a valid token with a
// byte added is not served from the cache of the valid one.
func TestVerifyBearerOpaqueCharacters(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	tok := p.OpaqueToken("bob", p.ClientID, "read", clk.Now().Add(time.Hour))
	if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{tok + "\xff", tok + "\xc3\xa9", tok[:4] + " " + tok[4:], tok + " ", " " + tok,
		tok[:4] + "=" + tok[4:], tok + "\x7f", tok + "%20", tok + ","} {
		id, err := c.VerifyBearer(context.Background(), bad)
		if !errors.Is(err, ErrInvalidToken) || id != nil || !strings.Contains(err.Error(), "not allowed in a token") {
			t.Errorf("%q: id %+v, err %v", bad, id, err)
		}
	}
	if n := p.Requests("/introspect"); n != 1 {
		t.Errorf("introspection requests = %d, want 1 (the valid token's)", n)
	}
}
