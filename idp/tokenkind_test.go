package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestJWTNamingAnotherTokenKindIsRefused: a JWT whose claims name another
// kind of token than an access token is not one, whether it is presented
// as a JWT or its provider introspects it. Amazon Cognito's ID tokens (from
// InitiateAuth or a refresh) carry token_use "id", aud = the client ID and
// neither nonce nor at_hash, so with the default audiences one passed as a
// bearer access token; Keycloak's refresh and offline tokens say typ
// "Refresh" or "Offline", which introspection already refused but the JWT
// path did not.
func TestJWTNamingAnotherTokenKindIsRefused(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	cognitoID := func(extra map[string]any) string {
		cl := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "iat": now, "exp": now + 3600,
			"auth_time": now, "email": "alice@example.com", "email_verified": true, "cognito:username": "alice"}
		for k, v := range extra {
			cl[k] = v
		}
		return p.Sign(cl, oidctest.SignOptions{})
	}
	for _, tt := range []struct {
		claims map[string]any
		valid  bool
	}{
		{claims: map[string]any{"token_use": "id"}},
		{claims: map[string]any{"token_use": "ID"}},
		{claims: map[string]any{"token_use": "refresh_token"}},
		{claims: map[string]any{"token_use": "id_token"}},
		{claims: map[string]any{"token_use": 1}},
		{claims: map[string]any{"typ": "Refresh"}},
		{claims: map[string]any{"typ": "offline"}},
		{claims: map[string]any{"typ": "Logout"}},
		// ASCII case only: Unicode folding took the long s for "s".
		{claims: map[string]any{"token_use": "acce\u017fs"}},
		{claims: map[string]any{"token_use": "ACCE\u017fS_TOKEN"}},
		{claims: map[string]any{"token_use": "ACCESS"}, valid: true},
		{claims: map[string]any{"token_use": "access"}, valid: true},
		{claims: map[string]any{"token_use": "access_token"}, valid: true},
		{claims: map[string]any{"typ": "Bearer"}, valid: true},
		{claims: map[string]any{"token_type": "refresh_token"}},
		{claims: map[string]any{"token_type": "Bearer"}, valid: true},
	} {
		id, err := c.VerifyBearer(context.Background(), cognitoID(tt.claims))
		if tt.valid && err != nil {
			t.Errorf("%v: refused: %v", tt.claims, err)
		}
		if !tt.valid && (err == nil || id != nil || !errors.Is(err, ErrInvalidToken)) {
			t.Errorf("%v: accepted as an access token: %+v %v", tt.claims, id, err)
		}
	}

	// Introspection follows the same rule.
	for _, tt := range []struct {
		claim, value string
		valid        bool
	}{
		{"token_use", "access", true}, {"token_use", "access_token", true},
		{"token_use", "id", false}, {"token_use", "refresh_token", false},
		{"token_use", "acce\u017fs", false},
		// RFC 7662 §2.2 token_type is an RFC 6749 §7.1 access token type
		// (Bearer); servers that answer for a refresh or ID token under the
		// hint's fallback name its kind there instead.
		{"token_type", "Bearer", true}, {"token_type", "refresh_token", false},
		{"token_type", "Refresh", false}, {"token_type", "id_token", false},
		{"token_type", "urn:ietf:params:oauth:token-type:refresh_token", false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "sub": "svc", "client_id": "client",
				"exp": now + 60, tt.claim: tt.value})
		}))
		ic, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "secret",
			AuthorizationURL: srv.URL, TokenURL: srv.URL, UserinfoURL: srv.URL,
			IntrospectionURL: srv.URL + "/introspect", Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ic.VerifyBearer(context.Background(), "opaque-token"); (err == nil) != tt.valid {
			t.Errorf("introspected %s %q: err = %v, want valid %v", tt.claim, tt.value, err, tt.valid)
		}
		srv.Close()
	}
}
