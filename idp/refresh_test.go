package idp

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"golang.org/x/oauth2"
)

func TestRefresh(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t2, id2, err := c.Refresh(ctx, toks.RefreshToken, id)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if t2.RefreshToken == "" || t2.RefreshToken == toks.RefreshToken || t2.AccessToken == toks.AccessToken {
		t.Errorf("tokens not rotated: %+v", t2)
	}
	if id2.Subject != "alice" || id2.Email != "alice@example.com" || len(id2.Scopes) == 0 {
		t.Errorf("identity = %+v", id2)
	}
	// The provider rotated: the old refresh token is refused as invalid_grant.
	if _, _, err := c.Refresh(ctx, toks.RefreshToken, id); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("reused refresh token: err = %v, want ErrInvalidGrant", err)
	}
	// Revoked at the provider (RFC 7009): the grant is gone too.
	if err := c.Revoke(ctx, t2.RefreshToken); err != nil || !p.Revoked(t2.RefreshToken) {
		t.Fatalf("revoke: %v", err)
	}
	if _, _, err := c.Refresh(ctx, t2.RefreshToken, id2); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("revoked refresh token: err = %v", err)
	}
}

func TestRefreshFailures(t *testing.T) {
	tests := []struct {
		name         string
		fault        oidctest.Fault
		closeServer  bool
		invalidGrant bool
	}{
		{name: "changed sub", fault: oidctest.FaultChangedSub, invalidGrant: true},
		{name: "refreshed id token with wrong issuer", fault: oidctest.FaultWrongIssuer, invalidGrant: true},
		{name: "refreshed id token bad signature", fault: oidctest.FaultBadSignature, invalidGrant: true},
		{name: "refreshed id token for another client", fault: oidctest.FaultWrongAudience, invalidGrant: true},
		{name: "refreshed id token expired", fault: oidctest.FaultExpiredIDToken, invalidGrant: true},
		{name: "refreshed id token alg none", fault: oidctest.FaultAlgNone, invalidGrant: true},
		{name: "refreshed id token HS256 with the public key", fault: oidctest.FaultHS256PublicKey, invalidGrant: true},
		{name: "refreshed id token unknown kid", fault: oidctest.FaultUnknownKID, invalidGrant: true},
		{name: "refreshed id token without sub", fault: oidctest.FaultMissingSub, invalidGrant: true},
		{name: "refreshed id token bad at_hash", fault: oidctest.FaultBadAtHash, invalidGrant: true},
		{name: "refresh answer for another subject at userinfo", fault: oidctest.FaultUserinfoOtherSub, invalidGrant: true},
		{name: "server error", fault: oidctest.FaultServerError},
		{name: "provider unreachable", closeServer: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, c, _ := setup(t, oidctest.Options{}, nil)
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			p.SetFaults(tt.fault)
			if tt.closeServer {
				p.Server.Close()
			}
			t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			if err == nil || t2 != nil || id2 != nil {
				t.Fatalf("refresh succeeded: %+v", id2)
			}
			if errors.Is(err, ErrInvalidGrant) != tt.invalidGrant {
				t.Errorf("err = %v; ErrInvalidGrant %v, want %v", err, errors.Is(err, ErrInvalidGrant), tt.invalidGrant)
			}
		})
	}
}

func TestRefreshWithoutIDToken(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	p.SetFaults(oidctest.FaultNoIDToken)
	t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if t2.IDToken != "" || id2.Subject != "alice" || id2.Claims["email"] != "alice@example.com" || id2.Issuer != p.Issuer {
		t.Errorf("tokens %+v identity %+v", t2, id2)
	}
}

func TestRevokeAndEndSession(t *testing.T) {
	_, c, _ := setup(t, oidctest.Options{}, nil)
	u := c.EndSessionURL("id.tok.en", "st&x", "https://gw.example.com/oauth2/signed_out")
	q := mustQuery(t, u)
	want := url.Values{"id_token_hint": {"id.tok.en"}, "client_id": {"client"}, "state": {"st&x"},
		"post_logout_redirect_uri": {"https://gw.example.com/oauth2/signed_out"}}
	if q.Encode() != want.Encode() {
		t.Errorf("end session query = %v", q)
	}
	_, bare, _ := setup(t, oidctest.Options{NoEndSession: true, NoRevocation: true}, nil)
	if u := bare.EndSessionURL("h", "s", "p"); u != "" {
		t.Errorf("EndSessionURL without endpoint = %q", u)
	}
	if err := bare.Revoke(context.Background(), "rt"); err != nil {
		t.Errorf("Revoke without endpoint: %v", err)
	}
	if !c.Revocable() || bare.Revocable() {
		t.Errorf("Revocable() = %v with a revocation endpoint, %v without, want true and false", c.Revocable(), bare.Revocable())
	}
}

// TestRefreshExpiresIn: the access token's expiry as each expires_in reads.
// 10,000,000,000 and more overflowed the time.Duration it was turned into:
// the expiry came out in the past, and every request of the session
// refreshed it at the provider. Zero, negative and null values state
// no expiry (the proxy then applies its own, unstatedAccessLife). x/oauth2
// itself refuses a fractional one, and one in exponent notation or beyond
// the int64.
func TestRefreshExpiresIn(t *testing.T) {
	const maxLife = maxExpiresIn * time.Second
	tests := []struct {
		raw  string
		want time.Duration // 0: no expiry stated
	}{
		{"3600", time.Hour},
		{`"3600"`, time.Hour},
		{"60", time.Minute},
		{"omit", 0},
		{"0", 0},
		{"-5", 0},
		{`"-5"`, 0},
		{"null", 0},
		{"10000000000", maxLife},         // overflowed time.Duration
		{"9000000000000000000", maxLife}, // near the int64's end
	}
	p, c, clk := setup(t, oidctest.Options{}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	rt := toks.RefreshToken
	for _, tt := range tests {
		p.SetExpiresIn(tt.raw)
		t2, _, err := c.Refresh(context.Background(), rt, id)
		if err != nil {
			t.Fatalf("expires_in %s: %v", tt.raw, err)
		}
		rt = t2.RefreshToken
		got := time.Duration(0)
		if !t2.Expiry.IsZero() {
			got = t2.Expiry.Sub(clk.Now())
		}
		if got != tt.want {
			t.Errorf("expires_in %s: the access token expires in %v, want %v", tt.raw, got, tt.want)
		}
	}
}

// TestRefreshWithoutIDTokenReadsUserinfo: many providers answer a refresh
// without an ID token (OIDC Core 12.2). The sign-in's claims were kept as
// they were, so a user moved out of a group kept it until session.lifetime
// even where userinfo stated the change, and a refresh whose tokens were
// another user's (userinfo's sub) was accepted. Userinfo is now read at
// such a refresh: what it states replaces the sign-in's claims. A claim
// userinfo stated at the sign-in and leaves out now (Okta and Keycloak
// leave out a groups claim that would be empty) is gone; the sign-in's fill
// in only what userinfo never stated.
func TestRefreshWithoutIDTokenReadsUserinfo(t *testing.T) {
	alice := func(groups ...any) oidctest.User {
		c := map[string]any{"email": "alice@example.com", "email_verified": true, "sid": "sid-alice"}
		if groups != nil {
			c["groups"] = groups
		}
		return oidctest.User{Subject: "alice", Claims: c}
	}
	tests := []struct {
		name       string
		o          oidctest.Options
		fault      oidctest.Fault
		before     *oidctest.User // nil: alice("admins")
		after      oidctest.User
		wantGroups []string
		wantErr    bool
	}{
		{name: "moved to another group", after: alice("viewers"), wantGroups: []string{"viewers"}},
		{name: "removed from the last group: userinfo leaves the claim out", after: alice(), wantGroups: nil},
		{name: "groups only in the ID token: userinfo cannot show them, the sign-in's stand",
			before: &oidctest.User{Subject: "alice", Claims: alice().Claims, IDTokenClaims: map[string]any{"groups": []any{"admins"}}},
			after:  alice(), wantGroups: []string{"admins"}},
		{name: "no userinfo endpoint: the sign-in's claims stand", o: oidctest.Options{NoUserinfo: true},
			after: alice("viewers"), wantGroups: []string{"admins"}},
		{name: "userinfo for another sub", fault: oidctest.FaultUserinfoOtherSub, after: alice("admins"), wantErr: true},
		{name: "tokens of another sub", fault: oidctest.FaultChangedSub, after: alice("admins"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := alice("admins")
			if tt.before != nil {
				before = *tt.before
			}
			tt.o.User = &before
			p, c, _ := setup(t, tt.o, nil)
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			p.SetUser(tt.after)
			p.SetFaults(oidctest.FaultNoIDToken | tt.fault)
			t2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidGrant) {
					t.Fatalf("err = %v, identity %+v; want ErrInvalidGrant", err, id2)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if t2.IDToken != "" || !slices.Equal(id2.Groups, tt.wantGroups) {
				t.Errorf("groups after a refresh without an ID token = %q, want %q", id2.Groups, tt.wantGroups)
			}
			if id2.Subject != "alice" || id2.Issuer != p.Issuer || id2.Claims["sid"] != "sid-alice" || id2.Claims["nonce"] != id.Claims["nonce"] {
				t.Errorf("identity %+v: sub, iss, sid and the ID token's own claims are the sign-in's", id2)
			}
		})
	}
}

// TestRefreshWithoutIDTokenUserinfoNoDottedShadow: as at the sign-in
// (docs/security.md), a userinfo member named like a dotted path never
// replaces the nested claim it names.
func TestRefreshWithoutIDTokenUserinfoNoDottedShadow(t *testing.T) {
	u := oidctest.User{Subject: "alice", Claims: map[string]any{"realm_access": map[string]any{"roles": []any{"viewers"}}}}
	p, c, _ := setup(t, oidctest.Options{User: &u}, func(cfg *Config) { cfg.GroupsClaim = "realm_access.roles" })
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	u.UserinfoClaims = map[string]any{"realm_access.roles": []any{"admins"}}
	p.SetUser(u)
	p.SetFaults(oidctest.FaultNoIDToken)
	_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id2.Groups, []string{"viewers"}) {
		t.Errorf("groups = %q: userinfo's dotted member replaced the nested claim", id2.Groups)
	}
}

// TestExpiresInFormEncoded: a form-encoded token answer (GitHub's, unless
// asked for JSON; a GitHub App's user tokens expire in 8 hours) gives
// expires_in to x/oauth2's Extra as an int64, or a float64 with a dot. It
// was read as no expiry: the session was never refreshed and ended when
// the token stopped working.
func TestExpiresInFormEncoded(t *testing.T) {
	clk := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := New(Config{Kind: "github", ClientID: "c", Now: func() time.Time { return clk }})
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]time.Duration{
		"28800": 8 * time.Hour, "3600.0": time.Hour, "0": 0, "-5": 0,
		"99999999999999": maxExpiresIn * time.Second, "soon": 0,
	} {
		tok := (&oauth2.Token{AccessToken: "ghu_x"}).WithExtra(url.Values{"expires_in": {raw}})
		out, _ := c.tokens(tok, nil)
		got := time.Duration(0)
		if !out.Expiry.IsZero() {
			got = out.Expiry.Sub(clk)
		}
		if got != want {
			t.Errorf("expires_in=%s: expires in %v, want %v", raw, got, want)
		}
	}
}
