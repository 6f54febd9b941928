package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestKindOfWrongJSONTypeIsRefused: a token whose typ header, or whose
// typ, token_type or token_use claim, is not a JSON string cannot be the
// kind it says it is. token_use 1 was refused while typ 1 and token_type
// [...] were read as stating nothing, so such a token passed as an access
// token, and an ID token of any of them signed a user in.
func TestKindOfWrongJSONTypeIsRefused(t *testing.T) {
	mistyped := []struct {
		name   string
		claims map[string]any
		header map[string]any
	}{
		{name: "typ claim number", claims: map[string]any{"typ": 1}},
		{name: "typ claim array", claims: map[string]any{"typ": []any{"Bearer"}}},
		{name: "token_type claim object", claims: map[string]any{"token_type": map[string]any{"x": "Bearer"}}},
		{name: "token_type claim null", claims: map[string]any{"token_type": nil}},
		{name: "token_use claim bool", claims: map[string]any{"token_use": true}},
		{name: "typ header number", header: map[string]any{"typ": 1}},
	}

	t.Run("bearer", func(t *testing.T) {
		p, c, clk := setup(t, oidctest.Options{}, nil)
		now := clk.Now().Unix()
		for _, tt := range mistyped {
			cl := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "iat": now, "exp": now + 3600, "client_id": p.ClientID}
			for k, v := range tt.claims {
				cl[k] = v
			}
			id, err := c.VerifyBearer(context.Background(), p.Sign(cl, oidctest.SignOptions{Header: tt.header}))
			if err == nil || id != nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "not a string") {
				t.Errorf("%s: err = %v, id = %+v; want refused as not a string", tt.name, err, id)
			}
		}
	})

	t.Run("ID token", func(t *testing.T) {
		p, c, clk := setup(t, oidctest.Options{}, nil)
		now := clk.Now().Unix()
		m := c.meta.Load()
		for _, tt := range mistyped {
			cl := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "iat": now, "exp": now + 3600}
			for k, v := range tt.claims {
				cl[k] = v
			}
			_, err := c.verifyIDToken(context.Background(), m, p.Sign(cl, oidctest.SignOptions{Header: tt.header}), "")
			if err == nil || !strings.Contains(err.Error(), "not a string") {
				t.Errorf("%s: err = %v; want refused as not a string", tt.name, err)
			}
		}
		// The same ID token with the kind stated as a string verifies.
		cl := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "iat": now, "exp": now + 3600, "typ": "ID"}
		if _, err := c.verifyIDToken(context.Background(), m, p.Sign(cl, oidctest.SignOptions{}), ""); err != nil {
			t.Errorf("typ \"ID\": %v", err)
		}
	})

	t.Run("sign-in", func(t *testing.T) {
		// Through a whole code flow: the provider's ID token says typ 1.
		u := oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com"},
			IDTokenClaims: map[string]any{"typ": 1}}
		_, c, _ := setup(t, oidctest.Options{User: &u}, nil)
		if _, id, err := login(t, c); err == nil || id != nil || !strings.Contains(err.Error(), "typ is not a string") {
			t.Errorf("login: id = %+v, err = %v; want refused", id, err)
		}
	})

	t.Run("logout token", func(t *testing.T) {
		p, c, _ := setup(t, oidctest.Options{}, nil)
		if _, _, err := c.VerifyLogoutToken(context.Background(), p.LogoutToken("alice", "sid-1", nil)); err != nil {
			t.Fatalf("a plain logout token: %v", err)
		}
		for _, claims := range []map[string]any{{"typ": 1}, {"token_use": []any{"logout"}}} {
			if _, _, err := c.VerifyLogoutToken(context.Background(), p.LogoutToken("alice", "sid-1", claims)); err == nil || !strings.Contains(err.Error(), "not a string") {
				t.Errorf("%v: err = %v; want refused as not a string", claims, err)
			}
		}
	})

	t.Run("introspection", func(t *testing.T) {
		clk := newClock()
		for _, tt := range mistyped {
			if tt.claims == nil {
				continue // an answer has no header
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a := map[string]any{"active": true, "sub": "svc", "client_id": "client", "exp": clk.Now().Unix() + 60}
				for k, v := range tt.claims {
					a[k] = v
				}
				_ = json.NewEncoder(w).Encode(a)
			}))
			ic, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "secret",
				AuthorizationURL: srv.URL, TokenURL: srv.URL, UserinfoURL: srv.URL,
				IntrospectionURL: srv.URL + "/introspect", Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if id, err := ic.VerifyBearer(context.Background(), "opaque-token"); err == nil || id != nil || !strings.Contains(err.Error(), "not a string") {
				t.Errorf("%s: err = %v, id = %+v; want refused as not a string", tt.name, err, id)
			}
			srv.Close()
		}
	})
}
