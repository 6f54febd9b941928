package idp

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestEntraGroupsClaimNamesAreNotGroups: an app registration can make Entra
// ID put group names in the groups claim (sAMAccountName, or cloud-only
// groups' display names, which the group's owners may change to any
// text). A name is no group here: taken as one, an owner who renames a
// group after an app role's value (app roles are groups too) or after a
// name a route allows gets that route. Only object IDs count; app roles
// still come from the roles claim.
func TestEntraGroupsClaimNamesAreNotGroups(t *testing.T) {
	const (
		eng   = "7b0c8e5a-0000-4000-8000-00000000e001" // no name: its ID is emitted
		team  = "7b0c8e5a-0000-4000-8000-00000000e002" // renamed by its owner
		other = "7b0c8e5a-0000-4000-8000-00000000e003" // a synced group's sAMAccountName
	)
	e := oidctest.NewEntra(t, oidctest.EntraOptions{GroupNames: true},
		oidctest.EntraUser{Groups: []string{eng, team, other}, Roles: []string{"Dashboards.Viewer"}})
	e.SetGroupName(team, "Dashboards.Admin")
	e.SetGroupName(other, "ops")
	p := e.Provider
	var logs bytes.Buffer
	c, err := New(Config{Kind: "entra", Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, DirectoryURL: e.GraphURL, Metrics: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{eng, "Dashboards.Viewer"}; !slices.Equal(id.Groups, want) {
		t.Errorf("groups %v, want %v (names are not groups)", id.Groups, want)
	}
	// The refreshed ID token says the same.
	_, rid, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if rid == nil {
		t.Fatal("no refreshed identity")
	}
	if want := []string{eng, "Dashboards.Viewer"}; !slices.Equal(rid.Groups, want) {
		t.Errorf("refreshed groups %v, want %v", rid.Groups, want)
	}
	if n := strings.Count(logs.String(), "not group object IDs"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestEntraTenantV1TokenGroupNamesAreNotGroups: the tenant's v1.0 access
// tokens (an extra issuer whose tid is the provider's tenant) are the
// tenant's for the groups claim too: a name there is no group.
func TestEntraTenantV1TokenGroupNamesAreNotGroups(t *testing.T) {
	const eng = "7b0c8e5a-0000-4000-8000-00000000e001"
	clk := newClock()
	v1 := oidctest.New(t, oidctest.Options{Now: clk.Now, IssuerPath: "/sts/tid-1"})
	_, c, _ := setup(t, oidctest.Options{IssuerPath: "/tid-1/v2.0"}, func(cfg *Config) {
		cfg.Kind = "entra"
		cfg.ExtraIssuers = []ExtraIssuer{{Issuer: v1.Issuer, Audiences: []string{"api://dash"}}}
	})
	now := clk.Now()
	tok := v1.Sign(map[string]any{"iss": v1.Issuer, "sub": "5f1a", "oid": "5f1a", "aud": "api://dash",
		"tid": "tid-1", "ver": "1.0", "appid": "3c2b", "scp": "Dashboards.Read",
		"groups": []any{eng, "Dashboards.Admin"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()},
		oidctest.SignOptions{})
	id, err := c.VerifyBearer(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{eng}) {
		t.Errorf("groups %v, want [%s]", id.Groups, eng)
	}
}
