package idp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestIdentityFromClaims(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		claims   string
		subject  string
		provSub  string // want ProviderSubject; "" = subject
		email    string
		verified bool
		groups   []string
		errSub   string
	}{
		{name: "standard", claims: `{"sub":"u1","email":"a@b.c","email_verified":true,"groups":["x","y"],"sid":"s"}`,
			subject: "u1", email: "a@b.c", verified: true, groups: []string{"x", "y"}},
		{name: "email_verified string does not count", claims: `{"sub":"u1","email":"a@b.c","email_verified":"true"}`,
			subject: "u1", email: "a@b.c"},
		{name: "email_verified absent", claims: `{"sub":"u1","email":"a@b.c"}`, subject: "u1", email: "a@b.c"},
		{name: "absent with assume_email_verified", cfg: Config{AssumeEmailVerified: true},
			claims: `{"sub":"u1","email":"a@b.c"}`, subject: "u1", email: "a@b.c", verified: true},
		{name: "false with assume_email_verified", cfg: Config{AssumeEmailVerified: true},
			claims: `{"sub":"u1","email":"a@b.c","email_verified":false}`, subject: "u1", email: "a@b.c"},
		{name: "groups string", claims: `{"sub":"u","groups":"admins"}`, subject: "u"},
		{name: "groups nested", claims: `{"sub":"u","groups":[["admins"]]}`, subject: "u"},
		{name: "groups mixed", claims: `{"sub":"u","groups":["a",1]}`, subject: "u"},
		{name: "groups null", claims: `{"sub":"u","groups":null}`, subject: "u"},
		{name: "nested groups claim", cfg: Config{GroupsClaim: "realm_access.roles"},
			claims: `{"sub":"u","realm_access":{"roles":["r1"]}}`, subject: "u", groups: []string{"r1"}},
		{name: "numeric user claim", cfg: Config{UserClaim: "id"}, claims: `{"id":12345678901}`, subject: "12345678901"},
		{name: "user_claim email keeps the provider's sub", cfg: Config{UserClaim: "email"},
			claims: `{"sub":"00u1","email":"a@b.c","email_verified":true}`, subject: "a@b.c", provSub: "00u1", email: "a@b.c", verified: true},
		{name: "user_claim email unverified", cfg: Config{UserClaim: "email"},
			claims: `{"sub":"00u1","email":"a@b.c"}`, errSub: "not verified"},
		{name: "missing user claim", claims: `{"email":"a@b.c"}`, errSub: "user_claim"},
		{name: "object user claim", claims: `{"sub":{"a":1}}`, errSub: "user_claim"},
		{name: "control char in preferred_username", claims: `{"sub":"u","preferred_username":"a\u0007"}`, errSub: "control"},
		{name: "DEL in email", claims: `{"sub":"u","email":"a\u007f@b.c"}`, errSub: "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Issuer, cfg.ClientID = "https://idp.example.com", "client"
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			if err := json.Unmarshal([]byte(tt.claims), &claims); err != nil {
				t.Fatal(err)
			}
			id, err := c.identity(claims, cfg.Issuer) // the provider's own claims
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) {
					t.Fatalf("err = %v, id = %+v", err, id)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.provSub == "" {
				tt.provSub = tt.subject
			}
			if id.Subject != tt.subject || id.ProviderSubject != tt.provSub || id.Email != tt.email || id.EmailVerified != tt.verified ||
				!slices.Equal(id.Groups, tt.groups) || (tt.groups == nil) != (id.Groups == nil) {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestScopesOf(t *testing.T) {
	for claims, want := range map[string][]string{
		`{"scope":"a  b\tc"}`:       {"a", "b\tc"},
		`{"scp":["x","y"]}`:         {"x", "y"},
		`{"scp":"x y"}`:             {"x", "y"},
		`{"scope":"a","scp":["x"]}`: {"a"},
		`{"scp":["x",1]}`:           nil,
		// scp is read only when scope is absent: a scope of another
		// shape grants nothing.
		`{"scope":["a"],"scp":["x"]}`: nil,
		`{"scope":null,"scp":"x"}`:    nil,
		`{}`:                          nil,
	} {
		var m map[string]any
		_ = json.Unmarshal([]byte(claims), &m)
		if got := scopesOf(m); !slices.Equal(got, want) {
			t.Errorf("scopesOf(%s) = %q, want %q", claims, got, want)
		}
	}
}
