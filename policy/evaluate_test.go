package policy

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
)

func TestEvaluate(t *testing.T) {
	verified := func(email string) *portcullis.Identity {
		return &portcullis.Identity{Subject: "u1", Email: email, EmailVerified: true}
	}
	withClaims := func(js string) *portcullis.Identity {
		id := verified("a@example.com")
		if err := json.Unmarshal([]byte(js), &id.Claims); err != nil {
			t.Fatal(err)
		}
		return id
	}
	tests := []struct {
		name        string
		route       RouteConfig
		id          *portcullis.Identity
		want        portcullis.Outcome
		wantReason  string
		wantMissing []string
	}{
		{"deny beats everything", RouteConfig{Deny: true}, verified("a@example.com"), portcullis.OutcomeForbidden, "route denies all requests", nil},
		{"deny without identity", RouteConfig{Deny: true}, nil, portcullis.OutcomeForbidden, "route denies all requests", nil},
		{"public without identity", RouteConfig{Public: true}, nil, portcullis.OutcomePublic, "", nil},
		{"no identity", RouteConfig{}, nil, portcullis.OutcomeUnauthenticated, "authentication required", nil},
		{"any identity", RouteConfig{}, &portcullis.Identity{Subject: "u"}, portcullis.OutcomeAllow, "", nil},

		{"group ok", RouteConfig{AllowGroups: []string{"admins", "ops"}}, &portcullis.Identity{Groups: []string{"dev", "ops"}}, portcullis.OutcomeAllow, "", nil},
		{"group missing", RouteConfig{AllowGroups: []string{"admins"}}, &portcullis.Identity{Groups: []string{"dev"}}, portcullis.OutcomeForbidden, "not in any of groups: admins", nil},
		{"group case-sensitive", RouteConfig{AllowGroups: []string{"admins"}}, &portcullis.Identity{Groups: []string{"Admins"}}, portcullis.OutcomeForbidden, "not in any of groups: admins", nil},
		{"group not trimmed", RouteConfig{AllowGroups: []string{"admins"}}, &portcullis.Identity{Groups: []string{" admins"}}, portcullis.OutcomeForbidden, "not in any of groups: admins", nil},
		{"groups nil (wrong claim shape)", RouteConfig{AllowGroups: []string{"admins"}}, &portcullis.Identity{Claims: map[string]any{"groups": "admins"}}, portcullis.OutcomeForbidden, "not in any of groups: admins (the identity has no groups at all)", nil},

		{"email ok", RouteConfig{AllowEmails: []string{"a@example.com"}}, verified("a@example.com"), portcullis.OutcomeAllow, "", nil},
		{"email case-insensitive", RouteConfig{AllowEmails: []string{"a@example.com"}}, verified("A@EXAMPLE.COM"), portcullis.OutcomeAllow, "", nil},
		{"email config case-insensitive", RouteConfig{AllowEmails: []string{"A@Example.com"}}, verified("a@example.com"), portcullis.OutcomeAllow, "", nil},
		{"email other", RouteConfig{AllowEmails: []string{"a@example.com"}}, verified("b@example.com"), portcullis.OutcomeForbidden, "email not allowed", nil},
		// Case-insensitive beyond ASCII: the entry was lower-cased with
		// Unicode's mapping, the address with ASCII's, so MÜLLER was
		// refused an entry müller. A look-alike never folds into ASCII.
		{"email non-ASCII case", RouteConfig{AllowEmails: []string{"müller@example.com"}}, verified("MÜLLER@example.com"), portcullis.OutcomeAllow, "", nil},
		{"email config non-ASCII case", RouteConfig{AllowEmails: []string{"MÜLLER@EXAMPLE.com"}}, verified("Müller@example.com"), portcullis.OutcomeAllow, "", nil},
		{"email Greek sigma forms", RouteConfig{AllowEmails: []string{"σοφια@example.gr"}}, verified("ΣΟΦΙΑ@example.gr"), portcullis.OutcomeAllow, "", nil},
		{"email Kelvin sign never kate", RouteConfig{AllowEmails: []string{"kate@example.com"}}, verified("\u212aate@example.com"), portcullis.OutcomeForbidden, "email not allowed", nil},
		{"email micro sign is not mu", RouteConfig{AllowEmails: []string{"\u03bcaria@example.gr"}}, verified("\u00b5aria@example.gr"), portcullis.OutcomeForbidden, "email not allowed", nil},
		{"email capital mu is mu", RouteConfig{AllowEmails: []string{"\u03bcaria@example.gr"}}, verified("\u039caria@example.gr"), portcullis.OutcomeAllow, "", nil},
		{"email non-ASCII other", RouteConfig{AllowEmails: []string{"müller@example.com"}}, verified("muller@example.com"), portcullis.OutcomeForbidden, "email not allowed", nil},
		{"email unverified", RouteConfig{AllowEmails: []string{"a@example.com"}}, &portcullis.Identity{Email: "a@example.com"}, portcullis.OutcomeForbidden, "email not verified (the provider sent no email_verified claim)", nil},
		{"email absent", RouteConfig{AllowEmails: []string{"a@example.com"}}, &portcullis.Identity{EmailVerified: true}, portcullis.OutcomeForbidden, "no email address", nil},
		{"email two ats", RouteConfig{AllowEmails: []string{"a@example.com"}}, verified("a@b@example.com"), portcullis.OutcomeForbidden, "email address is not valid", nil},
		{"email trailing dot", RouteConfig{AllowEmails: []string{"a@example.com"}}, verified("a@example.com."), portcullis.OutcomeForbidden, "email not allowed", nil},

		{"domain ok", RouteConfig{AllowEmailDomains: []string{"example.com"}}, verified("a@example.com"), portcullis.OutcomeAllow, "", nil},
		{"domain case", RouteConfig{AllowEmailDomains: []string{"Example.COM"}}, verified("a@EXAMPLE.com"), portcullis.OutcomeAllow, "", nil},
		{"domain non-ASCII case", RouteConfig{AllowEmailDomains: []string{"bücher.example"}}, verified("a@BÜCHER.example"), portcullis.OutcomeAllow, "", nil},
		{"domain config non-ASCII case", RouteConfig{AllowEmailDomains: []string{"BÜCHER.example"}}, verified("ä@bücher.example"), portcullis.OutcomeAllow, "", nil},
		{"domain two ats", RouteConfig{AllowEmailDomains: []string{"example.com"}}, verified("a@b@example.com"), portcullis.OutcomeForbidden, "email address is not valid", nil},
		{"domain no at", RouteConfig{AllowEmailDomains: []string{"example.com"}}, verified("example.com"), portcullis.OutcomeForbidden, "email address is not valid", nil},
		{"domain trailing dot", RouteConfig{AllowEmailDomains: []string{"example.com"}}, verified("a@example.com."), portcullis.OutcomeForbidden, "email domain not allowed", nil},
		{"domain suffix trick", RouteConfig{AllowEmailDomains: []string{"example.com"}}, verified("a@evil-example.com"), portcullis.OutcomeForbidden, "email domain not allowed", nil},
		{"domain subdomain", RouteConfig{AllowEmailDomains: []string{"example.com"}}, verified("a@sub.example.com"), portcullis.OutcomeForbidden, "email domain not allowed", nil},
		{"domain unverified", RouteConfig{AllowEmailDomains: []string{"example.com"}}, &portcullis.Identity{Email: "a@example.com"}, portcullis.OutcomeForbidden, "email not verified (the provider sent no email_verified claim)", nil},
		{"domain star", RouteConfig{AllowEmailDomains: []string{"*"}}, verified("x@anything.test"), portcullis.OutcomeAllow, "", nil},
		{"domain star unverified", RouteConfig{AllowEmailDomains: []string{"*"}}, &portcullis.Identity{Email: "x@anything.test"}, portcullis.OutcomeForbidden, "email not verified (the provider sent no email_verified claim)", nil},
		{"domain star two ats", RouteConfig{AllowEmailDomains: []string{"*"}}, verified("x@y@z"), portcullis.OutcomeForbidden, "email address is not valid", nil},
		{"emails and domains both required", RouteConfig{AllowEmails: []string{"a@other.com"}, AllowEmailDomains: []string{"example.com"}}, verified("a@other.com"), portcullis.OutcomeForbidden, "email domain not allowed", nil},

		{"claim string", RouteConfig{RequireClaims: map[string]string{"hd": "example.com"}}, withClaims(`{"hd":"example.com"}`), portcullis.OutcomeAllow, "", nil},
		{"claim wrong", RouteConfig{RequireClaims: map[string]string{"hd": "example.com"}}, withClaims(`{"hd":"evil.com"}`), portcullis.OutcomeForbidden, "claim hd is not example.com", nil},
		{"claim absent", RouteConfig{RequireClaims: map[string]string{"hd": "example.com"}}, withClaims(`{}`), portcullis.OutcomeForbidden, "claim hd is missing (the identity has no such claim)", nil},
		{"claim nested", RouteConfig{RequireClaims: map[string]string{"realm_access.roles": "admin"}}, withClaims(`{"realm_access":{"roles":["user","admin"]}}`), portcullis.OutcomeAllow, "", nil},
		{"claim array lacks", RouteConfig{RequireClaims: map[string]string{"roles": "admin"}}, withClaims(`{"roles":["user"]}`), portcullis.OutcomeForbidden, "claim roles is not admin", nil},
		{"claim nested array not flattened", RouteConfig{RequireClaims: map[string]string{"roles": "admin"}}, withClaims(`{"roles":[["admin"]]}`), portcullis.OutcomeForbidden, "claim roles is not admin", nil},
		{"claim bool", RouteConfig{RequireClaims: map[string]string{"mfa": "true"}}, withClaims(`{"mfa":true}`), portcullis.OutcomeAllow, "", nil},
		{"claim bool false", RouteConfig{RequireClaims: map[string]string{"mfa": "true"}}, withClaims(`{"mfa":false}`), portcullis.OutcomeForbidden, "claim mfa is not true", nil},
		{"claim number", RouteConfig{RequireClaims: map[string]string{"level": "42"}}, withClaims(`{"level":42}`), portcullis.OutcomeAllow, "", nil},
		{"claim number array", RouteConfig{RequireClaims: map[string]string{"levels": "3"}}, withClaims(`{"levels":[1,3]}`), portcullis.OutcomeAllow, "", nil},
		{"claim float", RouteConfig{RequireClaims: map[string]string{"v": "1.5"}}, withClaims(`{"v":1.5}`), portcullis.OutcomeAllow, "", nil},
		{"claim number not string form", RouteConfig{RequireClaims: map[string]string{"v": "42.0"}}, withClaims(`{"v":42}`), portcullis.OutcomeForbidden, "claim v is not 42.0", nil},
		{"claim string not number", RouteConfig{RequireClaims: map[string]string{"v": "42"}}, withClaims(`{"v":"042"}`), portcullis.OutcomeForbidden, "claim v is not 42", nil},
		{"claim json.Number", RouteConfig{RequireClaims: map[string]string{"v": "7"}}, &portcullis.Identity{Claims: map[string]any{"v": json.Number("7")}}, portcullis.OutcomeAllow, "", nil},
		{"claim []string", RouteConfig{RequireClaims: map[string]string{"v": "b"}}, &portcullis.Identity{Claims: map[string]any{"v": []string{"a", "b"}}}, portcullis.OutcomeAllow, "", nil},
		{"claim object", RouteConfig{RequireClaims: map[string]string{"o": "x"}}, withClaims(`{"o":{"x":1}}`), portcullis.OutcomeForbidden, "claim o is not x", nil},
		{"claim null", RouteConfig{RequireClaims: map[string]string{"o": "null"}}, withClaims(`{"o":null}`), portcullis.OutcomeForbidden, "claim o is not null", nil},
		{"claims all required", RouteConfig{RequireClaims: map[string]string{"a": "1", "b": "2"}}, withClaims(`{"a":"1","b":"3"}`), portcullis.OutcomeForbidden, "claim b is not 2", nil},
		{"dotted key whole", RouteConfig{RequireClaims: map[string]string{"https://x.test/tier": "gold"}}, withClaims(`{"https://x.test/tier":"gold"}`), portcullis.OutcomeAllow, "", nil},

		{"scope ok", RouteConfig{RequireScopes: []string{"dashboards:write"}}, &portcullis.Identity{Scopes: []string{"openid", "dashboards:write"}}, portcullis.OutcomeAllow, "", nil},
		{"scope missing", RouteConfig{RequireScopes: []string{"dashboards:write"}}, &portcullis.Identity{Scopes: []string{"dashboards:read"}}, portcullis.OutcomeInsufficientScope, "missing scope dashboards:write", []string{"dashboards:write"}},
		{"scopes missing", RouteConfig{RequireScopes: []string{"a", "b", "c"}}, &portcullis.Identity{Scopes: []string{"b"}}, portcullis.OutcomeInsufficientScope, "missing scopes a c", []string{"a", "c"}},
		{"scope case-sensitive", RouteConfig{RequireScopes: []string{"read"}}, &portcullis.Identity{Scopes: []string{"READ"}}, portcullis.OutcomeInsufficientScope, "missing scope read", []string{"read"}},
		{"scope not prefix", RouteConfig{RequireScopes: []string{"read"}}, &portcullis.Identity{Scopes: []string{"read:all"}}, portcullis.OutcomeInsufficientScope, "missing scope read", []string{"read"}},
		{"scope string not split by Evaluate", RouteConfig{RequireScopes: []string{"a"}}, &portcullis.Identity{Scopes: []string{"a b"}}, portcullis.OutcomeInsufficientScope, "missing scope a", []string{"a"}},
		{"scope not in claims", RouteConfig{RequireScopes: []string{"a"}}, &portcullis.Identity{Claims: map[string]any{"scope": "a"}}, portcullis.OutcomeInsufficientScope, "missing scope a", []string{"a"}},
		{"conditions before scopes", RouteConfig{RequireScopes: []string{"a"}, AllowGroups: []string{"g"}}, &portcullis.Identity{}, portcullis.OutcomeForbidden, "not in any of groups: g (the identity has no groups at all)", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := mustCompile(t, []RouteConfig{withPath(tt.route)})
			got := tbl.Routes()[0].Evaluate(tt.id)
			if got.Outcome != tt.want || got.Reason != tt.wantReason || !slices.Equal(got.MissingScopes, tt.wantMissing) {
				t.Fatalf("Evaluate = {%v %q %q}, want {%v %q %q}", got.Outcome, got.Reason, got.MissingScopes, tt.want, tt.wantReason, tt.wantMissing)
			}
		})
	}
}

func withPath(rc RouteConfig) RouteConfig {
	rc.Path = "/**"
	return rc
}

// TestEvaluateProviderScopes feeds the scope shapes of real providers, as the
// idp package splits them into Identity.Scopes, through a scope rule.
func TestEvaluateProviderScopes(t *testing.T) {
	r := mustCompile(t, []RouteConfig{{Path: "/", RequireScopes: []string{"api:write"}}}).Routes()[0]
	for _, tt := range []struct {
		name   string
		scopes []string
		want   portcullis.Outcome
	}{
		{"okta scp array", []string{"openid", "api:write"}, portcullis.OutcomeAllow},
		{"entra scp string split", strings.Split("api:read api:write", " "), portcullis.OutcomeAllow},
		{"auth0 scope string split", strings.Split("openid profile api:write", " "), portcullis.OutcomeAllow},
		{"keycloak scope string split", strings.Split("profile email api:write", " "), portcullis.OutcomeAllow},
		{"unsplit string", []string{"openid api:write"}, portcullis.OutcomeInsufficientScope},
		{"none", nil, portcullis.OutcomeInsufficientScope},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Evaluate(&portcullis.Identity{Scopes: tt.scopes}); got.Outcome != tt.want {
				t.Fatalf("Evaluate = %v (%s), want %v", got.Outcome, got.Reason, tt.want)
			}
		})
	}
}

func TestEvaluateAllowDoesNotAllocate(t *testing.T) {
	r := mustCompile(t, []RouteConfig{benchRoute()}).Routes()[0]
	id := benchIdentity()
	if d := r.Evaluate(id); d.Outcome != portcullis.OutcomeAllow {
		t.Fatalf("Evaluate = %v (%s)", d.Outcome, d.Reason)
	}
	if n := testing.AllocsPerRun(100, func() { r.Evaluate(id) }); n != 0 {
		t.Fatalf("Evaluate allocates %v times", n)
	}
}

func benchRoute() RouteConfig {
	return RouteConfig{
		Path:              "/**",
		RequireScopes:     []string{"dashboards:read", "dashboards:write"},
		AllowGroups:       []string{"admins", "editors"},
		AllowEmails:       []string{"alice@example.com", "bob@example.com"},
		AllowEmailDomains: []string{"example.com"},
		RequireClaims:     map[string]string{"hd": "example.com", "level": "3"},
	}
}

func benchIdentity() *portcullis.Identity {
	return &portcullis.Identity{
		Subject: "alice", Email: "Alice@Example.com", EmailVerified: true,
		Groups: []string{"users", "editors"},
		Scopes: []string{"openid", "email", "dashboards:read", "dashboards:write"},
		Claims: map[string]any{"hd": "example.com", "level": float64(3)},
	}
}

func BenchmarkEvaluate(b *testing.B) {
	r := mustCompile(b, []RouteConfig{benchRoute()}).Routes()[0]
	id := benchIdentity()
	b.ReportAllocs()
	for b.Loop() {
		r.Evaluate(id)
	}
}

// TestRequireClaimsInexactNumber: a claim decoded from JSON as a number
// beyond 2^53 - 1 is not the number the token carried (9007199254740993
// reads as 9007199254740992), so it never meets a numeric require_claims
// value: a token whose org_id is 9007199254740993 met the rule
// { org_id = "9007199254740992" }, and near 1e18 so did 128 neighbouring
// IDs. A string claim still compares as a string.
func TestRequireClaimsInexactNumber(t *testing.T) {
	r := mustCompile(t, []RouteConfig{{Path: "/", RequireClaims: map[string]string{"org_id": "9007199254740992"}}}).Routes()[0]
	for name, tc := range map[string]struct {
		claims string
		want   portcullis.Outcome
	}{
		"2^53 + 1 as a number": {`{"org_id": 9007199254740993}`, portcullis.OutcomeForbidden},
		"2^53 as a number":     {`{"org_id": 9007199254740992}`, portcullis.OutcomeForbidden},
		"2^53 + 1 in an array": {`{"org_id": [9007199254740993]}`, portcullis.OutcomeForbidden},
		"the string":           {`{"org_id": "9007199254740992"}`, portcullis.OutcomeAllow},
		"another string":       {`{"org_id": "9007199254740993"}`, portcullis.OutcomeForbidden},
	} {
		id := &portcullis.Identity{Subject: "u"}
		if err := json.Unmarshal([]byte(tc.claims), &id.Claims); err != nil {
			t.Fatal(err)
		}
		if got := r.Evaluate(id); got.Outcome != tc.want {
			t.Errorf("%s: %v (%s), want %v", name, got.Outcome, got.Reason, tc.want)
		}
	}
	small := mustCompile(t, []RouteConfig{{Path: "/", RequireClaims: map[string]string{"org_id": "42"}}}).Routes()[0]
	if got := small.Evaluate(&portcullis.Identity{Subject: "u", Claims: map[string]any{"org_id": 42.0}}); got.Outcome != portcullis.OutcomeAllow {
		t.Errorf("42: %v (%s)", got.Outcome, got.Reason)
	}
}

// TestBadClaimPathNamedInOrder: of several bad require_claims paths, the
// error names the first in sorted order every time, not the one a map's
// random iteration order met first.
func TestBadClaimPathNamedInOrder(t *testing.T) {
	claims := map[string]string{"z.": "1", ".b": "2", "a.": "3", ".y": "4", "ok": "5"}
	for range 50 {
		_, err := Compile([]RouteConfig{{Path: "/", RequireClaims: claims}})
		if err == nil || !strings.Contains(err.Error(), `".b" is not a claim path`) {
			t.Fatalf("err = %v, want the sorted-first bad path \".b\" named", err)
		}
	}
}
