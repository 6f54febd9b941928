package idp

import (
	"context"
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
	const admins, staff, suspended = "0b1f9851-0000-0000-0000-00000000admn", "0b1f9851-0000-0000-0000-00000000staf", "0b1f9851-0000-0000-0000-0000000susp"
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
