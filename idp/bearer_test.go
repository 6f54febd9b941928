package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestVerifyBearerJWT is the table of JWT access tokens, honest and hostile
// (docs/requests.md, identity; RFC 9068; RFC 8725).
func TestVerifyBearerJWT(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{AccessTokenAudience: "api"}, func(cfg *Config) {
		cfg.Audiences = []string{"api", "api2"}
	})
	attacker := oidctest.NewUnpublishedKey(t, p.Key().KID, "ES256")
	now := clk.Now().Unix()
	at := func(extra map[string]any) string { return p.AccessToken("alice", extra) }
	signed := func(extra map[string]any, o oidctest.SignOptions) string {
		c := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": "api", "iat": now, "exp": now + 3600}
		for k, v := range extra {
			c[k] = v
		}
		return p.Sign(c, o)
	}
	tests := []struct {
		name   string
		token  string
		valid  bool
		scopes []string
	}{
		{name: "valid at+jwt", token: at(map[string]any{"scope": "read write"}), valid: true, scopes: []string{"read", "write"}},
		{name: "typ absent", token: signed(nil, oidctest.SignOptions{}), valid: true},
		{name: "typ JWT", token: signed(nil, oidctest.SignOptions{Typ: "JWT"}), valid: true},
		{name: "typ application/at+jwt", token: signed(nil, oidctest.SignOptions{Typ: "Application/AT+JWT"}), valid: true},
		{name: "typ at+jwt", token: signed(nil, oidctest.SignOptions{Typ: "at+jwt"}), valid: true},
		{name: "typ jwt", token: signed(nil, oidctest.SignOptions{Typ: "jwt"}), valid: true},
		{name: "typ id_token+jwt", token: signed(nil, oidctest.SignOptions{Typ: "id_token+jwt"})},
		{name: "typ logout+jwt", token: signed(nil, oidctest.SignOptions{Typ: "logout+jwt"})},
		{name: "typ secevent+jwt", token: signed(nil, oidctest.SignOptions{Typ: "secevent+jwt"})},
		{name: "scp array", token: at(map[string]any{"scp": []string{"a", "b"}}), valid: true, scopes: []string{"a", "b"}},
		{name: "scp string", token: at(map[string]any{"scp": "a b"}), valid: true, scopes: []string{"a", "b"}},
		{name: "aud array one match", token: at(map[string]any{"aud": []string{"other", "api2"}}), valid: true},
		{name: "wrong aud", token: at(map[string]any{"aud": "other"})},
		{name: "missing aud", token: at(map[string]any{"aud": nil})},
		{name: "id token aud client_id", token: at(map[string]any{"aud": p.ClientID})},
		{name: "wrong iss", token: at(map[string]any{"iss": "https://evil.example.com"})},
		{name: "iss with trailing slash", token: at(map[string]any{"iss": p.Issuer + "/"})},
		{name: "missing iss", token: at(map[string]any{"iss": nil})},
		{name: "expired beyond leeway", token: at(map[string]any{"exp": now - 31})},
		{name: "expired within leeway", token: at(map[string]any{"exp": now - 20}), valid: true},
		{name: "missing exp", token: at(map[string]any{"exp": nil})},
		{name: "string exp", token: at(map[string]any{"exp": fmt.Sprint(now + 3600)})},
		{name: "string iat", token: at(map[string]any{"iat": fmt.Sprint(now)})},
		{name: "nbf in future", token: at(map[string]any{"nbf": now + 60})},
		{name: "nbf within leeway", token: at(map[string]any{"nbf": now + 20}), valid: true},
		{name: "iat in future", token: at(map[string]any{"iat": now + 120})},
		{name: "missing sub", token: at(map[string]any{"sub": nil})},
		{name: "alg none", token: signed(nil, oidctest.SignOptions{Alg: "none"})},
		{name: "hs256 with public key", token: signed(nil, oidctest.SignOptions{Alg: "HS256"})},
		{name: "bad signature", token: signed(nil, oidctest.SignOptions{CorruptSignature: true})},
		{name: "unknown kid", token: signed(nil, oidctest.SignOptions{Key: attacker, KID: "nope"})},
		{name: "known kid wrong key", token: signed(nil, oidctest.SignOptions{Key: attacker})},
		{name: "embedded jwk ignored", token: signed(nil, oidctest.SignOptions{Key: attacker, KID: "x",
			Header: map[string]any{"jwk": attacker.JWK()}})},
		{name: "jku ignored", token: signed(nil, oidctest.SignOptions{Key: attacker, KID: "x",
			Header: map[string]any{"jku": p.Issuer + "/evil-jwks"}})},
		{name: "control char in group", token: at(map[string]any{"groups": []string{"a\nb"}})},
		{name: "ID token marks: nonce", token: signed(map[string]any{"nonce": "n"}, oidctest.SignOptions{Typ: "JWT"})},
		{name: "ID token marks: at_hash", token: signed(map[string]any{"at_hash": "x"}, oidctest.SignOptions{})},
		{name: "ID token marks: c_hash", token: signed(map[string]any{"c_hash": "x"}, oidctest.SignOptions{})},
		{name: "logout token without typ", token: signed(map[string]any{"events": map[string]any{
			"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}, oidctest.SignOptions{})},
		{name: "Keycloak typ claim ID", token: signed(map[string]any{"typ": "ID"}, oidctest.SignOptions{})},
		{name: "Keycloak typ claim Bearer", token: signed(map[string]any{"typ": "Bearer"}, oidctest.SignOptions{}), valid: true},
		{name: "DPoP-bound (cnf jkt)", token: at(map[string]any{"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})},
		{name: "certificate-bound (cnf x5t#S256)", token: at(map[string]any{"cnf": map[string]any{"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.VerifyBearer(context.Background(), tt.token)
			if !tt.valid {
				if err == nil || id != nil || !errors.Is(err, ErrInvalidToken) {
					t.Fatalf("accepted: id %+v err %v", id, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if id.Subject != "alice" || id.Issuer != p.Issuer || id.Expiry.IsZero() {
				t.Errorf("identity = %+v", id)
			}
			if tt.scopes != nil && !slices.Equal(id.Scopes, tt.scopes) {
				t.Errorf("scopes = %q, want %q", id.Scopes, tt.scopes)
			}
		})
	}
}

func TestVerifyBearerMalformed(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{}, nil)
	good := p.AccessToken("alice", nil)
	i := strings.IndexByte(good, '.') + 5
	for name, tok := range map[string]string{
		"empty":              "",
		"1 MB":               strings.Repeat("a", 1<<20),
		"space inside":       good[:i] + " " + good[i:],
		"newline inside":     good[:i] + "\n" + good[i:],
		"tab at end":         good + "\t",
		"nul":                good[:i] + "\x00" + good[i:],
		"json serialization": `{"payload":"e30","signatures":[]}`,
		"four parts":         good + ".x",
		"not base64":         "a.b.c",
	} {
		t.Run(name, func(t *testing.T) {
			id, err := c.VerifyBearer(context.Background(), tok)
			if err == nil || id != nil || !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("accepted: %+v %v", id, err)
			}
		})
	}
	huge := strings.Repeat("a", 1<<20)
	start := time.Now()
	for range 100 {
		_, _ = c.VerifyBearer(context.Background(), huge)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("100 oversized tokens took %v", d)
	}
	// Only "four parts" is well-formed enough to be asked about (as an
	// opaque token); nothing else reaches the provider.
	if j, i := p.Requests("/jwks"), p.Requests("/introspect"); j != 0 || i != 1 {
		t.Errorf("malformed tokens caused %d JWKS and %d introspection requests", j, i)
	}
}

// TestVerifyBearerIDTokenAsAccessToken: an ID token is not an access token,
// with audiences other than the client_id and with the default audiences
// (the client_id, which is the ID token's aud too), and neither is a logout
// token.
func TestVerifyBearerIDTokenAsAccessToken(t *testing.T) {
	for name, audiences := range map[string][]string{"api audience": {"api"}, "default audiences": nil} {
		t.Run(name, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Audiences = audiences })
			if id, err := c.VerifyBearer(context.Background(), p.IDToken("alice", "n", "")); err == nil {
				t.Fatalf("ID token accepted: %+v", id)
			}
			if id, err := c.VerifyBearer(context.Background(), p.LogoutToken("alice", "sid", nil)); err == nil {
				t.Fatalf("logout token accepted: %+v", id)
			}
		})
	}
}

// TestVerifyBearerEntraIDTokenFromRefresh: Entra ID's ID tokens from the
// token endpoint carry no nonce, at_hash or c_hash, and their aud is the
// client ID, the default audience; only the client they name (azp, appid)
// tells its access tokens apart.
func TestVerifyBearerEntraIDTokenFromRefresh(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Kind = "entra" })
	now := clk.Now()
	base := func(extra map[string]any) map[string]any {
		claims := map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID, "oid": "0b1f",
			"tid": "t", "ver": "2.0", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			claims[k] = v
		}
		return claims
	}
	idToken := p.Sign(base(nil), oidctest.SignOptions{})
	if id, err := c.VerifyBearer(context.Background(), idToken); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "an ID token") {
		t.Fatalf("an ID token from a refresh: %+v, %v", id, err)
	}
	for _, k := range []string{"azp", "appid"} {
		tok := p.Sign(base(map[string]any{k: p.ClientID, "scp": "read"}), oidctest.SignOptions{})
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Errorf("an access token with %s: %v", k, err)
		}
	}
	// kind = "oidc" cannot tell by this: other providers' access tokens
	// need not name their client.
	p2, c2, clk2 := setup(t, oidctest.Options{}, nil)
	now = clk2.Now()
	tok := p2.Sign(map[string]any{"iss": p2.Issuer, "sub": "alice", "aud": p2.ClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}, oidctest.SignOptions{})
	if _, err := c2.VerifyBearer(context.Background(), tok); err != nil {
		t.Errorf("kind oidc: %v", err)
	}
}

func TestVerifyBearerCache(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	tok := p.AccessToken("alice", map[string]any{"exp": clk.Now().Add(time.Minute).Unix()})
	for range 5 {
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.Requests("/jwks"); n != 1 {
		t.Errorf("jwks fetched %d times", n)
	}
	// Past exp + leeway the cache entry is gone and verification fails.
	clk.Advance(2 * time.Minute)
	if _, err := c.VerifyBearer(context.Background(), tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired cached token: err = %v", err)
	}
}

// TestJWKSCooldown: tokens with unknown kids refetch the JWKS at most once
// per cool-down, however many arrive.
func TestJWKSCooldown(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	if _, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", nil)); err != nil {
		t.Fatal(err)
	}
	attacker := oidctest.NewUnpublishedKey(t, "x", "ES256")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := p.Sign(map[string]any{"iss": p.Issuer, "sub": "a", "aud": p.ClientID,
				"exp": clk.Now().Add(time.Hour).Unix()}, oidctest.SignOptions{Key: attacker, KID: fmt.Sprint("kid-", i)})
			if _, err := c.VerifyBearer(context.Background(), tok); err == nil {
				t.Error("unknown kid accepted")
			}
		}()
	}
	wg.Wait()
	if n := p.Requests("/jwks"); n > 2 {
		t.Errorf("50 unknown kids caused %d JWKS fetches in all, want at most 2", n)
	}
	before := p.Requests("/jwks")
	clk.Advance(31 * time.Second)
	tok := p.Sign(map[string]any{"iss": p.Issuer, "sub": "a", "aud": p.ClientID,
		"exp": clk.Now().Add(time.Hour).Unix()}, oidctest.SignOptions{Key: attacker, KID: "later"})
	_, _ = c.VerifyBearer(context.Background(), tok)
	if n := p.Requests("/jwks"); n != before+1 {
		t.Errorf("after the cool-down: %d fetches, want %d", n, before+1)
	}
}

// TestJWKSKeyRules: use, alg and unparseable entries (RFC 7517 §4.2, §4.4, §5).
func TestJWKSKeyRules(t *testing.T) {
	extra := oidctest.NewUnpublishedKey(t, "extra", "ES256")
	jwk := func(mod map[string]any) json.RawMessage {
		b, _ := json.Marshal(extra.JWK())
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for k, v := range mod {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		b, _ = json.Marshal(m)
		return b
	}
	tests := []struct {
		name  string
		entry json.RawMessage
		valid bool
	}{
		{"use sig alg ES256", jwk(nil), true},
		{"no use no alg", jwk(map[string]any{"use": nil, "alg": nil}), true},
		{"use enc", jwk(map[string]any{"use": "enc"}), false},
		{"alg ES384 for an ES256 token", jwk(map[string]any{"alg": "ES384"}), false},
		{"alg HS256", jwk(map[string]any{"alg": "HS256"}), false},
		{"broken entry only", json.RawMessage(`{"kty":"EC","kid":"extra","crv":"P-256","x":"!!"}`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			garbage := json.RawMessage(`{"kty":"nonsense","kid":"g"}`)
			p, c, clk := setup(t, oidctest.Options{ExtraJWKS: []json.RawMessage{garbage, tt.entry}}, nil)
			tok := p.Sign(map[string]any{"iss": p.Issuer, "sub": "a", "aud": p.ClientID,
				"exp": clk.Now().Add(time.Hour).Unix()}, oidctest.SignOptions{Key: extra})
			id, err := c.VerifyBearer(context.Background(), tok)
			if tt.valid != (err == nil) {
				t.Fatalf("valid = %v, err = %v, id = %+v", tt.valid, err, id)
			}
			// The published keys still work next to the odd entries.
			if _, err := c.VerifyBearer(context.Background(), p.AccessToken("alice", nil)); err != nil {
				t.Errorf("honest token: %v", err)
			}
		})
	}
}

func TestVerifyBearerExtraIssuer(t *testing.T) {
	k8s := oidctest.New(t, oidctest.Options{Alg: "ES256", Now: newClock().Now})
	byURL := oidctest.New(t, oidctest.Options{Now: newClock().Now})
	p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.ExtraIssuers = []ExtraIssuer{
			{Issuer: k8s.Issuer, Audiences: []string{"portcullis"}},
			{Issuer: byURL.Issuer, Audiences: []string{"ci"}, JWKSURL: byURL.Issuer + "/jwks"},
		}
	})
	tests := []struct {
		name  string
		token string
		valid bool
	}{
		{"k8s token via discovery", k8s.AccessToken("system:serviceaccount:ns:sa", map[string]any{"aud": []string{"portcullis"}}), true},
		{"k8s token for client aud", k8s.AccessToken("sa", map[string]any{"aud": p.ClientID}), false},
		{"jwks_url issuer", byURL.AccessToken("repo:x", map[string]any{"aud": "ci"}), true},
		{"extra issuer's token claiming the primary issuer", k8s.AccessToken("sa", map[string]any{"iss": p.Issuer}), false},
		{"primary", p.AccessToken("alice", nil), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := c.VerifyBearer(context.Background(), tt.token)
			if tt.valid != (err == nil) {
				t.Fatalf("valid = %v, err = %v, id = %+v", tt.valid, err, id)
			}
		})
	}
	if k8s.Requests("/.well-known/openid-configuration") != 1 || byURL.Requests("/.well-known/openid-configuration") != 0 {
		t.Errorf("discovery requests: k8s %d, byURL %d", k8s.Requests("/.well-known/openid-configuration"),
			byURL.Requests("/.well-known/openid-configuration"))
	}
}

func FuzzVerifyBearer(f *testing.F) {
	p, c, _ := setup(f, oidctest.Options{NoIntrospection: true}, nil)
	good := p.AccessToken("alice", nil)
	for _, s := range []string{good, good[:len(good)-3], "a.b.c", "", "eyJhbGciOiJub25lIn0.e30.",
		p.Sign(map[string]any{"iss": p.Issuer}, oidctest.SignOptions{Alg: "none"}),
		p.Sign(map[string]any{"iss": p.Issuer, "aud": p.ClientID}, oidctest.SignOptions{Alg: "HS256"}),
		"opaque-token", strings.Repeat(".", 3), "e30.e30.e30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := c.VerifyBearer(context.Background(), tok)
		if err == nil && tok != good {
			t.Fatalf("fuzzed token verified: %q -> %+v", tok, id)
		}
		if err != nil && id != nil {
			t.Fatal("identity returned with an error")
		}
	})
}

func BenchmarkVerifyBearerCached(b *testing.B) {
	p, c, _ := setup(b, oidctest.Options{}, nil)
	tok := p.AccessToken("alice", map[string]any{"scope": "read write", "groups": []string{"a", "b"}})
	ctx := context.Background()
	if _, err := c.VerifyBearer(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.VerifyBearer(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
