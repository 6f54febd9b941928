package idp

import (
	"context"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestClaimNamesAreCaseSensitive: JWT claim names are case-sensitive (RFC
// 7519 §10.1.1), but go-oidc reads iss, aud, sub and the time claims into
// a struct, which encoding/json matches case-insensitively (Unicode simple
// folding: "ſ" is "s"), while every other check reads the claims as they
// are. A token whose "Iss" or "AUD" alone names the provider or the client
// passed go-oidc's issuer and audience checks with no iss or aud of its
// own; such a token is refused, bearer and logout token alike.
func TestClaimNamesAreCaseSensitive(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	ev := map[string]any{backchannelEvent: map[string]any{}}
	for name, extra := range map[string]map[string]any{
		"Iss":    {"iss": nil, "Iss": p.Issuer},
		"ISS":    {"iss": nil, "ISS": p.Issuer},
		"AUD":    {"aud": nil, "AUD": p.ClientID},
		"long s": {"iss": nil, "i\u017fs": p.Issuer},
		"Exp":    {"exp": nil, "Exp": now + 3600},
	} {
		t.Run(name, func(t *testing.T) {
			if id, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", extra)); err == nil {
				t.Errorf("bearer token with %v accepted: %+v", extra, id)
			}
			logout := map[string]any{"iss": p.Issuer, "aud": p.ClientID, "iat": now, "jti": "j-" + name, "sub": "alice", "events": ev}
			withClaims(logout, extra)
			if sub, _, err := c.VerifyLogoutToken(context.Background(), p.Sign(logout, oidctest.SignOptions{Typ: "logout+jwt"})); err == nil {
				t.Errorf("logout token with %v accepted for %q", extra, sub)
			}
		})
	}
}

func withClaims(c, extra map[string]any) {
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
}
