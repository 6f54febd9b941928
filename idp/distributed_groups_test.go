package idp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestGroupsHeldElsewhereAreNotNoGroups: a token whose groups claim is a
// distributed claim (OpenID Connect Core 5.6.2: _claim_names names it, its
// value is at a _claim_sources endpoint), as Entra ID sends it for a user in
// more than 200 groups, or that says hasgroups instead (Entra ID's implicit
// flow), does not say the user is in no group. Only kind = "entra" at login
// and refresh reads them (from Graph). Elsewhere the identity was made with
// no groups: an Entra ID tenant configured as kind = "oidc", or any Entra ID
// bearer token. A user who can create groups (Entra ID lets every user
// create Microsoft 365 groups by default) could join enough of them to
// drop a group the application denies on ("contractors") from every
// header and assertion.
func TestGroupsHeldElsewhereAreNotNoGroups(t *testing.T) {
	overage := map[string]any{"_claim_names": map[string]any{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/t/users/oid/getMemberObjects"}}}
	for name, claims := range map[string]map[string]any{"_claim_names": overage, "hasgroups": {"hasgroups": true}} {
		t.Run("kind oidc login, "+name, func(t *testing.T) {
			_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: claims}}, nil)
			_, id, err := login(t, c)
			if !errors.Is(err, ErrGroupsElsewhere) {
				t.Errorf("login: groups %q, err %v; want ErrGroupsElsewhere", groupsOf(id), err)
			}
		})
		for _, kind := range []string{"oidc", "entra"} {
			t.Run("kind "+kind+" bearer, "+name, func(t *testing.T) {
				p, c, _ := setup(t, oidctest.Options{AccessTokenAudience: "api"}, func(cfg *Config) {
					cfg.Kind, cfg.Audiences = kind, []string{"api"}
				})
				id, err := c.VerifyBearer(context.Background(), p.AccessToken("oid", claims))
				if !errors.Is(err, ErrInvalidToken) || !strings.Contains(fmt.Sprint(err), "groups are not in it") {
					t.Errorf("bearer: groups %q, err %v; want ErrInvalidToken for groups elsewhere", groupsOf(id), err)
				}
			})
		}
	}
	t.Run("groups present as well", func(t *testing.T) {
		claims := map[string]any{"groups": []any{"g1"}, "hasgroups": true}
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: claims}}, nil)
		if _, id, err := login(t, c); err != nil || !slices.Equal(id.Groups, []string{"g1"}) {
			t.Errorf("login: %v, %v", groupsOf(id), err)
		}
	})
	t.Run("another claim distributed", func(t *testing.T) {
		claims := map[string]any{"groups": []any{"g1"}, "_claim_names": map[string]any{"payment_info": "src1"},
			"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://bank.example.com/claims"}}}
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: claims}}, nil)
		if _, _, err := login(t, c); err != nil {
			t.Errorf("login: %v", err)
		}
	})
}

// groupsOf is id's groups, nil for no identity.
func groupsOf(id *portcullis.Identity) []string {
	if id == nil {
		return nil
	}
	return id.Groups
}
