package idp

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestVerifyBearerInexactNumbersAreRefused: claims are decoded as JSON
// numbers into float64, which holds every integer up to 2^53 - 1 and
// beyond that only some: 9007199254740993 reads as 9007199254740992, and
// near 1e18 (64-bit IDs such as Snowflake IDs, which Java issuers write as
// numbers) 128 neighbouring IDs read as one. A numeric user_claim of that
// size made neighbouring users one user (the user header, the session's
// subject, the assertion's sub), and a numeric header claim sent the
// upstream another number than the token's. Such a token is now refused:
// the gateway cannot tell which number it carried.
func TestVerifyBearerInexactNumbersAreRefused(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.UserClaim = "uid"
		cfg.HeaderClaims = []string{"org_id"}
	})
	token := func(uid string, org any) string {
		claims := map[string]any{"iss": p.Issuer, "sub": "s-" + uid, "aud": p.ClientID,
			"uid": json.Number(uid), "iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix()}
		if org != nil {
			claims["org_id"] = org
		}
		return p.Sign(claims, oidctest.SignOptions{Typ: "at+jwt"})
	}
	for name, tok := range map[string]string{
		"uid 2^53 + 1":           token("9007199254740993", nil),
		"uid 2^53":               token("9007199254740992", nil),
		"uid -2^53 - 1":          token("-9007199254740993", nil),
		"snowflake uid":          token("1580000000000000123", nil),
		"snowflake header claim": token("42", json.Number("1580000000000000123")),
		"header claim in array":  token("42", []any{json.Number("7"), json.Number("1580000000000000123")}),
	} {
		if id, err := c.VerifyBearer(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: %+v, %v; want refused", name, id, err)
		}
	}
	for name, tc := range map[string]struct{ uid, want string }{
		"GitHub-sized id":   {"12345678", "12345678"},
		"largest exact id":  {"9007199254740991", "9007199254740991"},
		"negative exact id": {"-9007199254740991", "-9007199254740991"},
	} {
		id, err := c.VerifyBearer(context.Background(), token(tc.uid, json.Number("7")))
		if err != nil || id.Subject != tc.want {
			t.Errorf("%s: %+v, %v; want subject %s", name, id, err, tc.want)
		}
	}
}

func TestHeaderValueInexactNumber(t *testing.T) {
	for _, v := range []any{float64(1 << 53), -float64(1 << 53), 1.58e18, 1e300, []any{1.0, 1e20},
		map[string]any{"org": map[string]any{"id": 1.58e18}}, []any{map[string]any{"id": 7.0}, []any{1e20}}} {
		if s, err := HeaderValue(v); !errors.Is(err, ErrInexactNumber) {
			t.Errorf("HeaderValue(%v) = %q, %v; want ErrInexactNumber", v, s, err)
		}
	}
	if s, err := HeaderValue(map[string]any{"org": []any{7.0, "x"}}); err != nil || s != `{"org":[7,"x"]}` {
		t.Errorf("HeaderValue(object) = %q, %v", s, err)
	}
	for v, want := range map[float64]string{1<<53 - 1: "9007199254740991", 12345678: "12345678", 1.5: "1.5", -3: "-3"} {
		if s, err := HeaderValue(v); err != nil || s != want {
			t.Errorf("HeaderValue(%v) = %q, %v; want %q", v, s, err, want)
		}
	}
}
