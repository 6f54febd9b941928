package idp

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

func TestLoginHonest(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) {
		cfg.AuthParams = map[string]string{"access_type": "offline"}
	})
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	q := p.LastAuthorize()
	for k, want := range map[string]string{"nonce": "nonce-1", "code_challenge_method": "S256",
		"access_type": "offline", "scope": "openid email profile", "redirect_uri": redirectURL} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if id.Subject != "alice" || id.Email != "alice@example.com" || !id.EmailVerified ||
		id.PreferredUsername != "alice" || !slices.Equal(id.Groups, []string{"admins"}) ||
		id.SessionID != "sid-alice" || id.Issuer != p.Issuer {
		t.Errorf("identity = %+v", id)
	}
	if toks.RefreshToken == "" || toks.IDToken == "" || !toks.Expiry.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("tokens = %+v", toks)
	}
	if !slices.Equal(toks.Scopes, []string{"openid", "email", "profile"}) || !slices.Equal(id.Scopes, toks.Scopes) {
		t.Errorf("scopes = %q", toks.Scopes)
	}
	if !c.Ready() || c.IssuerParameterSupported() {
		t.Errorf("Ready %v IssuerParameterSupported %v", c.Ready(), c.IssuerParameterSupported())
	}
}

func TestNotReadyBeforeDiscovery(t *testing.T) {
	c, err := New(Config{Issuer: "https://idp.example.com", ClientID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Ready() {
		t.Error("ready before discovery")
	}
	if _, err := c.AuthCodeURL("s", "n", "v", nil); !errors.Is(err, ErrNotReady) {
		t.Errorf("AuthCodeURL err = %v", err)
	}
	if _, _, err := c.Exchange(context.Background(), "c", "v", "n", time.Time{}); !errors.Is(err, ErrNotReady) {
		t.Errorf("Exchange err = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no client id":     {Issuer: "https://idp.example.com"},
		"oauth2 no urls":   {Kind: "oauth2", ClientID: "x"},
		"bad kind":         {Kind: "saml", ClientID: "x", Issuer: "https://a"},
		"bad issuer url":   {Issuer: "ftp://idp", ClientID: "x"},
		"extra issuer aud": {Issuer: "https://a", ClientID: "x", ExtraIssuers: []ExtraIssuer{{Issuer: "https://k"}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

// TestLoginMisbehaviour: every hostile ID token ends the login with an
// error and no identity (OIDC Core 3.1.3.7).
func TestLoginMisbehaviour(t *testing.T) {
	tests := []struct {
		name   string
		fault  oidctest.Fault
		errSub string
	}{
		{"wrong issuer", oidctest.FaultWrongIssuer, "different provider"},
		{"wrong audience", oidctest.FaultWrongAudience, "expected audience"},
		{"wrong nonce", oidctest.FaultWrongNonce, "nonce does not match"},
		{"no nonce", oidctest.FaultMissingNonce, "nonce does not match"},
		{"expired id token", oidctest.FaultExpiredIDToken, "expired"},
		{"bad signature", oidctest.FaultBadSignature, "no key verifies"},
		{"alg none", oidctest.FaultAlgNone, `algorithm "none"`},
		{"unknown kid", oidctest.FaultUnknownKID, `kid "unknown-kid"`},
		{"hs256 public key", oidctest.FaultHS256PublicKey, `algorithm "HS256"`},
		{"missing sub", oidctest.FaultMissingSub, "no sub"},
		{"string iat", oidctest.FaultStringIat, "iat is not a number"},
		{"userinfo other sub", oidctest.FaultUserinfoOtherSub, "userinfo sub"},
		{"server error", oidctest.FaultServerError, "500"},
		{"no id token", oidctest.FaultNoIDToken, "no id_token"},
		{"bad at_hash", oidctest.FaultBadAtHash, "at_hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			p.SetFaults(tt.fault)
			toks, id, err := login(t, c)
			if err == nil || id != nil || toks != nil {
				t.Fatalf("login succeeded: %+v %v", id, err)
			}
			if !strings.Contains(err.Error(), tt.errSub) {
				t.Errorf("err = %v, want it to mention %q", err, tt.errSub)
			}
		})
	}
}

func TestLoginSlowProviderTimesOut(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{SlowDelay: 30 * time.Second}, nil)
	code := authorize(t, c, "s", "n", testVerifier)
	p.SetFaults(oidctest.FaultSlow)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := c.Exchange(ctx, code, testVerifier, "n", time.Time{}); err == nil {
		t.Fatal("exchange succeeded")
	}
	// Far above the 200 ms context, and half the back-channel client's
	// 10 s timeout: it catches an exchange that waits for the provider or
	// for that timeout, not a slow machine.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("exchange took %v", d)
	}
}

func TestLoginChecks(t *testing.T) {
	tests := []struct {
		name   string
		user   oidctest.User
		nonce  string
		verif  string
		errSub string
	}{
		{name: "wrong nonce at exchange", nonce: "other", errSub: "nonce"},
		{name: "empty nonce at exchange", nonce: "-", errSub: "nonce"},
		{name: "wrong PKCE verifier", verif: testVerifier + "x", errSub: "exchange"},
		{name: "control char in email", user: oidctest.User{Subject: "bob",
			Claims: map[string]any{"email": "bob@example.com\r\nX-Evil: 1"}}, errSub: "control character"},
		{name: "control char in group", user: oidctest.User{Subject: "bob",
			Claims: map[string]any{"groups": []string{"a\x7f"}}}, errSub: "control character"},
		{name: "control char in sub", user: oidctest.User{Subject: "bo\x00b"}, errSub: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := oidctest.Options{}
			if tt.user.Subject != "" {
				o.User = &tt.user
			}
			_, c, _ := setup(t, o, nil)
			verif := cmpOr(tt.verif, testVerifier)
			code := authorize(t, c, "s", "nonce-1", testVerifier)
			nonce := cmpOr(tt.nonce, "nonce-1")
			if nonce == "-" {
				nonce = ""
			}
			_, id, err := c.Exchange(context.Background(), code, verif, nonce, time.Time{})
			if err == nil || id != nil || !strings.Contains(err.Error(), tt.errSub) {
				t.Fatalf("err = %v, id = %+v; want error containing %q", err, id, tt.errSub)
			}
		})
	}
}

func TestUserinfoCompletesClaims(t *testing.T) {
	_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "carol",
		Claims:         map[string]any{"email": "carol@example.com", "email_verified": false},
		UserinfoClaims: map[string]any{"groups": []string{"ops"}, "email": "other@example.com", "hd": "example.com"}}}, nil)
	_, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	// ID token claims win; userinfo fills in what is missing.
	if id.Email != "carol@example.com" || id.EmailVerified || !slices.Equal(id.Groups, []string{"ops"}) || id.Claims["hd"] != "example.com" {
		t.Errorf("identity = %+v", id)
	}
}

func TestNoUserinfoEndpoint(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{NoUserinfo: true}, nil)
	if _, _, err := login(t, c); err != nil {
		t.Fatal(err)
	}
	if n := p.Requests("/userinfo"); n != 0 {
		t.Errorf("userinfo requests = %d", n)
	}
}

func TestIssParameterAdvertised(t *testing.T) {
	_, c, _ := setup(t, oidctest.Options{IssParameter: true}, nil)
	if !c.IssuerParameterSupported() {
		t.Error("iss parameter support not recorded")
	}
}

func TestAuthCodeURLScopes(t *testing.T) {
	_, c, _ := setup(t, oidctest.Options{}, nil)
	u, err := c.AuthCodeURL("st", "no", testVerifier, []string{"openid", "dashboards:write"})
	if err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, u)
	if q.Get("scope") != "openid dashboards:write" || q.Get("state") != "st" || q.Get("code_challenge") == "" {
		t.Errorf("query = %v", q)
	}
}

func mustQuery(t *testing.T, u string) url.Values {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query()
}

// TestLoginScopeOmitted: a token response without scope (RFC 6749 §5.1)
// grants what the provider's introspection of the access token says, here
// the requested scope (TestOmittedScopeIsNotTheRequestedOne: not because it
// was requested).
func TestLoginScopeOmitted(t *testing.T) {
	for _, omit := range []bool{false, true} {
		_, c, _ := setup(t, oidctest.Options{OmitTokenScope: omit}, nil)
		toks, _, err := login(t, c)
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if !slices.Equal(toks.Scopes, []string{"openid", "email", "profile"}) {
			t.Errorf("omit %v: scopes %q", omit, toks.Scopes)
		}
	}
}

// TestLoginTokenType: a token response whose token_type is not Bearer (any
// case) fails the login (RFC 6749 §7.1); a refresh response may leave it
// out but may not name another type.
func TestLoginTokenType(t *testing.T) {
	for tokenType, ok := range map[string]bool{"Bearer": true, "bearer": true, "BEARER": true,
		"": false, "DPoP": false, "mac": false, "N_A": false, "Bearer ": false} {
		t.Run("login "+tokenType, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			p.SetTokenType(tokenType)
			toks, id, err := login(t, c)
			if ok != (err == nil) {
				t.Fatalf("token_type %q: login err = %v", tokenType, err)
			}
			if err != nil && (id != nil || toks != nil || !strings.Contains(err.Error(), "token_type")) {
				t.Errorf("err = %v, id = %+v", err, id)
			}
		})
	}
	for tokenType, ok := range map[string]bool{"bearer": true, "": true, "DPoP": false, "mac": false} {
		t.Run("refresh "+tokenType, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			p.SetTokenType(tokenType)
			t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			if ok != (err == nil) || (err != nil && (id2 != nil || t2 != nil || !strings.Contains(err.Error(), "token_type"))) {
				t.Errorf("refresh with token_type %q: err = %v", tokenType, err)
			}
		})
	}
}

// TestLoginStaleIDToken: an ID token issued more than 5 minutes (plus the
// 30 s leeway) before the callback is refused as replayed or stale; the
// clock is the test's, so nothing sleeps.
func TestLoginStaleIDToken(t *testing.T) {
	for _, tt := range []struct {
		age time.Duration
		ok  bool
	}{
		{0, true}, {5 * time.Minute, true}, {5*time.Minute + 30*time.Second, true},
		{5*time.Minute + 31*time.Second, false}, {10 * time.Minute, false}, {24 * time.Hour, false},
	} {
		t.Run(tt.age.String(), func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			p.SetIDTokenAge(tt.age)
			toks, id, err := login(t, c)
			if tt.ok {
				if err != nil {
					t.Fatalf("iat %v ago: %v", tt.age, err)
				}
				return
			}
			if err == nil || id != nil || toks != nil || !strings.Contains(err.Error(), "a replayed or stale token") {
				t.Fatalf("iat %v ago: err = %v, id = %+v", tt.age, err, id)
			}
		})
	}
}
