package idp

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestEntraOverageAtRefreshReadsGraph: a session that signed in
// without a groups overage has its groups from the ID token (GroupsReadAt
// zero: the proxy never reads Graph for it). When a later refreshed ID token
// is in overage (the user now has more than 200 groups), refreshGroups copies
// the groups of the sign-in token, and nothing schedules a Graph read:
// Tokens.GroupsReadAt stays zero. The groups are then frozen at the sign-in
// token's list until session.lifetime: a group the user was removed from is
// kept, and a group added (one an upstream denies on) never appears. The
// docs promise groups "renewed with every token refresh" without overage and
// re-read every groups_refresh with it.
func TestEntraOverageAtRefreshReadsGraph(t *testing.T) {
	const admins, staff, suspended = "0b1f9851-0000-0000-0000-00000000ad01", "0b1f9851-0000-0000-0000-00000000ad02", "0b1f9851-0000-0000-0000-00000000ad03"
	dir := &stubDirectory{}
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: map[string]any{
		"groups": []any{admins, staff}}}},
		func(cfg *Config) { cfg.Kind, cfg.Directory = "entra", dir })
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{admins, staff}) || !toks.GroupsReadAt.IsZero() {
		t.Fatalf("login: groups %v read at %v", id.Groups, toks.GroupsReadAt)
	}
	// Removed from admins, added to suspended and many more: overage.
	dir.set([]string{staff, suspended}, nil)
	p.SetUser(oidctest.User{Subject: "oid", Claims: map[string]any{
		"_claim_names":   map[string]any{"groups": "src1"},
		"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/t/users/oid/getMemberObjects"}}}})
	toks2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(id2.Groups, admins) && toks2.GroupsReadAt.IsZero() {
		t.Errorf("refreshed into overage: groups %v (admins kept, suspended missing), Graph asked %d times, "+
			"and GroupsReadAt is zero so no groups_refresh will ever read Graph for this session", id2.Groups, len(dir.asked))
	}
}

// TestEntraOverageRefreshTakesRolesFromTheNewToken: with a groups overage
// the groups come from Graph, read every groups_refresh, but the app roles
// still come from the ID token, which states them afresh at every token
// refresh. A refresh in overage kept the previous identity's groups as a
// whole, roles included: an app role the admin withdrew stayed granted until
// the next Graph read (groups_refresh), and for up to an hour when the user
// makes that read fail (Graph throttles per user), while the refreshed token
// already said the role was gone.
func TestEntraOverageRefreshTakesRolesFromTheNewToken(t *testing.T) {
	const g1, g2 = "0b1f9851-0000-0000-0000-0000000000g1", "0b1f9851-0000-0000-0000-0000000000g2"
	overage := func(roles ...any) map[string]any {
		c := map[string]any{"_claim_names": map[string]any{"groups": "src1"},
			"_claim_sources": map[string]any{"src1": map[string]any{"endpoint": "https://graph.windows.net/t/users/oid/getMemberObjects"}}}
		if roles != nil {
			c["roles"] = roles
		}
		return c
	}
	dir := &stubDirectory{groups: []string{g1, g2}}
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: overage("Dashboards.Admin", "Dashboards.Reader")}},
		func(cfg *Config) { cfg.Kind, cfg.Directory = "entra", dir })
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{g1, g2, "Dashboards.Admin", "Dashboards.Reader"}) {
		t.Fatalf("login: groups %v", id.Groups)
	}
	// The admin withdraws Dashboards.Admin and grants Dashboards.Writer;
	// Graph now fails (it is not read at a token refresh anyway).
	dir.set(nil, errors.New("graph: throttled"))
	p.SetUser(oidctest.User{Subject: "oid", Claims: overage("Dashboards.Reader", "Dashboards.Writer")})
	toks2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{g1, g2, "Dashboards.Reader", "Dashboards.Writer"}; !slices.Equal(id2.Groups, want) {
		t.Errorf("refreshed in overage: groups %v, want %v (the Graph groups read before, the roles of the new token)", id2.Groups, want)
	}
	// The last role withdrawn: Entra ID leaves roles out.
	p.SetUser(oidctest.User{Subject: "oid", Claims: overage()})
	_, id3, err := c.Refresh(context.Background(), toks2.RefreshToken, id2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{g1, g2}; !slices.Equal(id3.Groups, want) {
		t.Errorf("refreshed without roles: groups %v, want %v", id3.Groups, want)
	}
}
