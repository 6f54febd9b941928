package policy

import (
	"encoding/json"
	"testing"

	"github.com/portcullis/portcullis"
)

// TestEvaluateNamesWhatTheIdentityLacks: a refusal because the provider
// sent nothing for a rule (no groups at all, no email_verified, no such
// claim), as a provider set up without a groups mapper, Entra ID without
// assume_email_verified or a require_claims path it never sends gives,
// says so, so that the operator is not told a user is in other groups,
// has an unverified address or another value.
func TestEvaluateNamesWhatTheIdentityLacks(t *testing.T) {
	claims := func(js string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	tests := []struct {
		name       string
		route      RouteConfig
		id         *portcullis.Identity
		wantReason string
	}{
		{"no groups claim", RouteConfig{AllowGroups: []string{"admins"}}, &portcullis.Identity{Claims: claims(`{"sub":"u"}`)},
			"not in any of groups: admins (the identity has no groups at all)"},
		{"empty groups", RouteConfig{AllowGroups: []string{"admins", "ops"}}, &portcullis.Identity{Groups: []string{}},
			"not in any of groups: admins, ops (the identity has no groups at all)"},
		{"other groups", RouteConfig{AllowGroups: []string{"admins"}}, &portcullis.Identity{Groups: []string{"dev"}},
			"not in any of groups: admins"},
		{"email_verified absent", RouteConfig{AllowEmailDomains: []string{"example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com"}`)},
			"email not verified (the provider sent no email_verified claim)"},
		{"email_verified false", RouteConfig{AllowEmails: []string{"a@example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","email_verified":false}`)},
			"email not verified"},
		{"xms_edov true, email_verified absent", RouteConfig{AllowEmailDomains: []string{"example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","xms_edov":true}`)},
			"email not verified (the provider sent no email_verified claim)"},
		{"xms_edov false", RouteConfig{AllowEmailDomains: []string{"example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","xms_edov":false}`)},
			"email not verified"},
		{"xms_edov null", RouteConfig{AllowEmailDomains: []string{"example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","xms_edov":null}`)},
			"email not verified"},
		{"email_verified a string", RouteConfig{AllowEmails: []string{"a@example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","email_verified":"true"}`)},
			"email not verified (the provider's email_verified is not the boolean true)"},
		{"email_verified null", RouteConfig{AllowEmails: []string{"a@example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","email_verified":null}`)},
			"email not verified (the provider's email_verified is not the boolean true)"},
		{"email_verified true, not counted", RouteConfig{AllowEmails: []string{"a@example.com"}},
			&portcullis.Identity{Email: "a@example.com", Claims: claims(`{"email":"a@example.com","email_verified":true}`)},
			"email not verified (the gateway does not count the provider's email_verified for this address)"},
		{"claim absent", RouteConfig{RequireClaims: map[string]string{"realm_access.roles": "admin"}},
			&portcullis.Identity{Claims: claims(`{"sub":"u"}`)},
			"claim realm_access.roles is missing (the identity has no such claim)"},
		{"claim other value", RouteConfig{RequireClaims: map[string]string{"realm_access.roles": "admin"}},
			&portcullis.Identity{Claims: claims(`{"realm_access":{"roles":["user"]}}`)},
			"claim realm_access.roles is not admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustCompile(t, []RouteConfig{withPath(tt.route)}).Routes()[0].Evaluate(tt.id)
			if got.Outcome != portcullis.OutcomeForbidden || got.Reason != tt.wantReason {
				t.Fatalf("Evaluate = {%v %q}, want {forbidden %q}", got.Outcome, got.Reason, tt.wantReason)
			}
		})
	}
}
