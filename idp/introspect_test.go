package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestIntrospectionRules plays the introspection endpoint itself, asserting
// what it receives (RFC 7662 §2.1) and answering each case's response.
func TestIntrospectionRules(t *testing.T) {
	clk := newClock()
	now := clk.Now().Unix()
	tests := []struct {
		name    string
		status  int
		resp    map[string]any
		valid   bool
		down    bool // error must wrap ErrUnavailable, not ErrInvalidToken
		scopes  []string
		subject string
	}{
		{name: "active with aud", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": now + 60, "scope": "a b"},
			valid: true, scopes: []string{"a", "b"}, subject: "svc"},
		{name: "aud array", resp: map[string]any{"active": true, "sub": "svc", "aud": []string{"x", "client"}, "exp": now + 60}, valid: true},
		{name: "no aud, our client_id", resp: map[string]any{"active": true, "sub": "svc", "client_id": "client", "exp": now + 60,
			"scp": []string{"r"}}, valid: true, scopes: []string{"r"}},
		{name: "no aud, other client_id", resp: map[string]any{"active": true, "sub": "svc", "client_id": "other", "exp": now + 60}},
		{name: "wrong aud", resp: map[string]any{"active": true, "sub": "svc", "aud": "other", "client_id": "client", "exp": now + 60}},
		{name: "inactive", resp: map[string]any{"active": false}},
		{name: "active as string", resp: map[string]any{"active": "true", "sub": "svc", "aud": "client", "exp": now + 60}},
		{name: "expired", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": now - 1}},
		{name: "no exp", resp: map[string]any{"active": true, "sub": "svc", "aud": "client"}},
		{name: "string exp", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": "99999999999"}},
		{name: "no sub", resp: map[string]any{"active": true, "aud": "client", "exp": now + 60}},
		{name: "token_type Bearer", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": now + 60,
			"token_type": "bearer"}, valid: true},
		// Sender-constrained tokens: the gateway cannot check the proof, so
		// one presented as a bearer token is refused (RFC 9449 §7.1, RFC 8705 §3).
		{name: "DPoP-bound", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": now + 60,
			"token_type": "DPoP", "cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}},
		{name: "token_type DPoP without cnf", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": now + 60,
			"token_type": "DPoP"}},
		{name: "certificate-bound", resp: map[string]any{"active": true, "sub": "svc", "aud": "client", "exp": now + 60,
			"token_type": "Bearer", "cnf": map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}},
		{name: "server error", status: 500, down: true},
		// A plain OAuth 2.0 provider that refuses Basic is asked with the
		// form, once.
		{name: "bad client credentials", status: 401, down: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				id, secret, ok := r.BasicAuth()
				_ = r.ParseForm()
				if calls.Add(1) > 1 { // after a refusal of Basic: the form
					id, secret, ok = r.PostForm.Get("client_id"), url.QueryEscape(r.PostForm.Get("client_secret")), !ok
				}
				if !ok || id != "client" || secret != "s%3Acret" || r.PostForm.Get("token") != "opaque-token" ||
					r.PostForm.Get("token_type_hint") != "access_token" || r.Method != http.MethodPost {
					t.Errorf("introspection request: basic %v %q %q form %v", ok, id, secret, r.PostForm)
				}
				if tt.status != 0 {
					w.WriteHeader(tt.status)
					return
				}
				_ = json.NewEncoder(w).Encode(tt.resp)
			}))
			defer srv.Close()
			c, err := New(Config{Kind: "oauth2", ClientID: "client", ClientSecret: "s:cret",
				AuthorizationURL: srv.URL, TokenURL: srv.URL, UserinfoURL: srv.URL,
				IntrospectionURL: srv.URL + "/introspect", Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			id, err := c.VerifyBearer(context.Background(), "opaque-token")
			switch {
			case tt.down:
				if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
					t.Fatalf("err = %v, want ErrUnavailable only", err)
				}
				want := int32(1)
				if tt.status == http.StatusUnauthorized {
					want = 2
				}
				if calls.Load() != want {
					t.Errorf("%d introspection calls, want %d", calls.Load(), want)
				}
				return
			case !tt.valid:
				if !errors.Is(err, ErrInvalidToken) || id != nil {
					t.Fatalf("accepted: %+v %v", id, err)
				}
				return
			case err != nil:
				t.Fatalf("refused: %v", err)
			}
			if tt.subject != "" && id.Subject != tt.subject {
				t.Errorf("subject = %q", id.Subject)
			}
			if tt.scopes != nil && !slices.Equal(id.Scopes, tt.scopes) {
				t.Errorf("scopes = %q", id.Scopes)
			}
			// Cached: a second use asks nobody.
			if _, err := c.VerifyBearer(context.Background(), "opaque-token"); err != nil || calls.Load() != 1 {
				t.Errorf("second use: err %v, %d introspection calls", err, calls.Load())
			}
		})
	}
}

// TestIntrospectionAgainstProvider uses the discovered endpoint; the cache
// lasts at most five minutes even for a long-lived token.
func TestIntrospectionAgainstProvider(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	tok := p.OpaqueToken("bob", p.ClientID, "read", clk.Now().Add(time.Hour))
	for range 3 {
		id, err := c.VerifyBearer(context.Background(), tok)
		if err != nil || id.Subject != "bob" || !slices.Equal(id.Scopes, []string{"read"}) {
			t.Fatalf("id %+v err %v", id, err)
		}
	}
	if n := p.Requests("/introspect"); n != 1 {
		t.Errorf("introspection calls = %d, want 1", n)
	}
	clk.Advance(5*time.Minute + time.Second)
	if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if n := p.Requests("/introspect"); n != 2 {
		t.Errorf("after 5 minutes: introspection calls = %d, want 2", n)
	}
	if _, err := c.VerifyBearer(context.Background(), "unknown-opaque"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unknown token: %v", err)
	}
	p.SetFaults(oidctest.FaultServerError)
	if _, err := c.VerifyBearer(context.Background(), "another-opaque"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("provider down: %v", err)
	}
}

// TestIntrospectionIssuer: an introspection answer is the provider's word
// about its own token. Without iss it is the provider's, claims included,
// so require_claims { iss = provider.issuer } admits its opaque tokens; an
// iss naming an extra issuer made a provider token that issuer's subject
// (sub_id, require_claims { iss = ... }) and is refused. So is any other
// iss (this test accepted an unrelated one, under which every rule keyed to
// the provider's issuer was skipped: TestIntrospectionIssuerHostedDomain),
// a spelling of the provider's, and an iss that is no string.
func TestIntrospectionIssuer(t *testing.T) {
	const ci = "https://ci.example.net"
	for _, tc := range []struct {
		name  string
		iss   any // nil: absent
		valid bool
	}{
		{name: "absent", valid: true},
		{name: "the provider's", iss: "PROVIDER", valid: true},
		{name: "an extra issuer's", iss: ci},
		{name: "an untrusted issuer's", iss: "https://elsewhere.example"},
		{name: "the provider's with a trailing slash", iss: "PROVIDER/"},
		{name: "empty", iss: ""},
		{name: "not a string", iss: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *oidctest.Provider
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				resp := map[string]any{"active": true, "sub": "system:serviceaccount:prod:deployer",
					"aud": "client", "exp": newClock().Now().Unix() + 60}
				if s, ok := tc.iss.(string); ok && strings.HasPrefix(s, "PROVIDER") {
					resp["iss"] = p.Issuer + strings.TrimPrefix(s, "PROVIDER")
				} else if tc.iss != nil {
					resp["iss"] = tc.iss
				}
				_ = json.NewEncoder(w).Encode(resp)
			}))
			defer srv.Close()
			p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
				cfg.IntrospectionURL = srv.URL
				cfg.ExtraIssuers = []ExtraIssuer{{Issuer: ci, Audiences: []string{"portcullis"}, JWKSURL: ci + "/jwks"}}
			})
			id, err := c.VerifyBearer(context.Background(), "opaque-token")
			if !tc.valid {
				if !errors.Is(err, ErrInvalidToken) || id != nil {
					t.Fatalf("accepted: %+v %v", id, err)
				}
				return
			}
			want := p.Issuer
			if err != nil || id.Issuer != want || id.Claims["iss"] != want {
				t.Fatalf("identity %+v, err %v; want issuer and iss claim %q", id, err, want)
			}
		})
	}
}
