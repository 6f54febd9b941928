package idp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBearerHoldsAcrValues: auth_params acr_values ("mfa") was checked in
// the ID token of a sign-in only; a bearer token of the same provider for
// an accepted audience reached the same routes with any acr or none: a
// user holding only a password, with an access token from another client
// of the API, passed where a browser session needed the second factor
// (the "bearer-only mode skips a check the session gets" class of other
// relying parties, review KM). The provider's bearer tokens, JWT and
// introspected, now need an acr among acr_values as its ID tokens do; an
// extra issuer's, which acr_values never applied to, are not bound by it.
func TestBearerHoldsAcrValues(t *testing.T) {
	ci := oidctest.New(t, oidctest.Options{Now: newClock().Now})
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.AuthParams = map[string]string{"acr_values": "phr mfa"}
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: ci.Issuer, Audiences: []string{"portcullis"}}}
	})
	now := clk.Now().Unix()
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"jwt acr mfa", p.AccessToken("alice", map[string]any{"acr": "mfa"}), true},
		{"jwt acr phr", p.AccessToken("alice", map[string]any{"acr": "phr"}), true},
		{"jwt acr pwd", p.AccessToken("alice", map[string]any{"acr": "pwd"}), false},
		{"jwt without acr", p.AccessToken("alice", nil), false},
		{"jwt acr in other case", p.AccessToken("alice", map[string]any{"acr": "MFA"}), false},
		{"jwt acr a number", p.AccessToken("alice", map[string]any{"acr": 2}), false},
		{"jwt acr an array", p.AccessToken("alice", map[string]any{"acr": []string{"mfa"}}), false},
		{"extra issuer without acr", ci.Sign(map[string]any{"iss": ci.Issuer, "sub": "job", "aud": "portcullis",
			"iat": now, "exp": now + 600}, oidctest.SignOptions{}), true},
	} {
		id, err := c.VerifyBearer(context.Background(), tc.token)
		if tc.ok && (err != nil || id == nil) {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		if !tc.ok && (!errors.Is(err, ErrInvalidToken) || id != nil) {
			t.Errorf("%s: accepted (identity %+v, err %v); want refused", tc.name, id, err)
		}
	}
}

// TestIntrospectedBearerHoldsAcrValues: the same for an opaque token,
// whose introspection answer states the acr.
func TestIntrospectedBearerHoldsAcrValues(t *testing.T) {
	for _, tc := range []struct {
		acr any
		ok  bool
	}{{"mfa", true}, {"pwd", false}, {nil, false}} {
		claims := map[string]any{}
		if tc.acr != nil {
			claims["acr"] = tc.acr
		}
		p, c, clk := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice", Claims: claims}}, func(cfg *Config) {
			cfg.AuthParams = map[string]string{"acr_values": "mfa"}
		})
		tok := p.OpaqueToken("alice", p.ClientID, "read", clk.Now().Add(time.Hour))
		id, err := c.VerifyBearer(context.Background(), tok)
		if tc.ok && (err != nil || id == nil) {
			t.Errorf("acr %v: refused: %v", tc.acr, err)
		}
		if !tc.ok && (!errors.Is(err, ErrInvalidToken) || id != nil) {
			t.Errorf("acr %v: accepted (identity %+v, err %v); want refused", tc.acr, id, err)
		}
	}
}
