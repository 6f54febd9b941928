package idp

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestLoginChecksRequestedAuthentication: auth_params acr_values and
// max_age travel in the front-channel authorization request, which the
// user's browser carries and can edit. Someone holding only a stolen
// password drops acr_values=mfa from the URL (or max_age from a request
// that demands a fresh sign-in); the provider then authenticates with the
// password alone, or not at all, and says so in the ID token's acr and
// auth_time, which the gateway never read: the login succeeded. OIDC Core
// 3.1.3.7 steps 12-13: the acr must be one requested, and with max_age the
// auth_time is required and at most max_age older than the sign-in's start
// (its login state), not the callback's time less the 10 minutes a login may
// take: max_age=0 edited into a day signed in from a provider session of a
// password entered before the sign-in began.
func TestLoginChecksRequestedAuthentication(t *testing.T) {
	clk := newClock()
	now := clk.Now().Unix()
	for _, tt := range []struct {
		name   string
		params map[string]string
		claims map[string]any
		// began is how long before the callback the sign-in began (its
		// login state's IssuedAt); 0 is at the callback.
		began time.Duration
		ok    bool
	}{
		{name: "acr requested and asserted", params: map[string]string{"acr_values": "mfa"},
			claims: map[string]any{"acr": "mfa"}, ok: true},
		{name: "one of several acr", params: map[string]string{"acr_values": "phr  mfa"},
			claims: map[string]any{"acr": "mfa"}, ok: true},
		{name: "acr_values stripped: password only", params: map[string]string{"acr_values": "mfa"},
			claims: map[string]any{"acr": "pwd"}},
		{name: "no acr", params: map[string]string{"acr_values": "mfa"}},
		{name: "acr not a string", params: map[string]string{"acr_values": "1"}, claims: map[string]any{"acr": 1}},
		{name: "acr differs in case", params: map[string]string{"acr_values": "mfa"}, claims: map[string]any{"acr": "MFA"}},
		{name: "acr not requested", claims: map[string]any{"acr": "pwd"}, ok: true},
		{name: "recent auth_time", params: map[string]string{"max_age": "300"},
			claims: map[string]any{"auth_time": now - 200}, ok: true},
		{name: "max_age 0, signed in during the login", params: map[string]string{"max_age": "0"},
			claims: map[string]any{"auth_time": now - 240}, began: 5 * time.Minute, ok: true},
		{name: "max_age 0 edited: signed in a minute before the login", params: map[string]string{"max_age": "0"},
			claims: map[string]any{"auth_time": now - 120}, began: time.Minute},
		{name: "max_age 300 edited: signed in 6 minutes before the login", params: map[string]string{"max_age": "300"},
			claims: map[string]any{"auth_time": now - 370}, began: 10 * time.Second},
		{name: "max_age 300, within the leeway", params: map[string]string{"max_age": "300"},
			claims: map[string]any{"auth_time": now - 325}, began: 10 * time.Second, ok: true},
		{name: "max_age stripped: old sign-in", params: map[string]string{"max_age": "300"},
			claims: map[string]any{"auth_time": now - 3*3600}},
		{name: "max_age 0 stripped", params: map[string]string{"max_age": "0"},
			claims: map[string]any{"auth_time": now - 3600}},
		{name: "no auth_time", params: map[string]string{"max_age": "300"}},
		{name: "auth_time a string", params: map[string]string{"max_age": "300"},
			claims: map[string]any{"auth_time": "1800000000"}},
		{name: "auth_time in the future", params: map[string]string{"max_age": "300"},
			claims: map[string]any{"auth_time": now + 600}},
		{name: "auth_time not asked for", claims: map[string]any{"auth_time": now - 30*86400}, ok: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			claims := map[string]any{"email": "alice@example.com", "email_verified": true}
			for k, v := range tt.claims {
				claims[k] = v
			}
			o := oidctest.Options{User: &oidctest.User{Subject: "alice", Claims: claims}, Now: clk.Now}
			p := oidctest.New(t, o)
			c, err := New(Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
				RedirectURL: redirectURL, Now: clk.Now, AuthParams: tt.params})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Discover(t.Context()); err != nil {
				t.Fatal(err)
			}
			code := authorize(t, c, "state-1", "nonce-1", testVerifier)
			_, id, err := c.Exchange(t.Context(), code, testVerifier, "nonce-1", clk.Now().Add(-tt.began))
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && err == nil {
				t.Fatalf("accepted: %+v", id)
			}
		})
	}
}
