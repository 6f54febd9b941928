package directory

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAdminSDKSharesGroupParents: the Admin SDK lists direct memberships,
// so each read lists the groups of every group found too. Forty users of
// eng@ (in all@) cost 40 x 3 calls per groups_refresh, and Google's default
// quota is 2,400 queries a minute for the admin the service account acts
// as: an organisation's sessions used it up, and a throttled service
// account fails every user's sign-in. A group's own groups are reused for
// parentsTTL; a user's memberships are read every time, and a change to a
// group's nesting is seen once parentsTTL has passed.
func TestAdminSDKSharesGroupParents(t *testing.T) {
	g := oidctest.NewGoogle(t, oidctest.GoogleOptions{})
	g.SetMemberships("eng@acme.com", "all@acme.com")
	const users = 40
	for i := range users {
		g.SetMemberships(fmt.Sprintf("u%02d@acme.com", i), "eng@acme.com")
	}
	src, err := NewGoogle(GoogleConfig{CredentialsJSON: g.ServiceAccountKey(), AdminEmail: "admin@acme.com", BaseURL: g.URL})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	src.parents.now = func() time.Time { return now }
	read := func(user string) []string {
		t.Helper()
		got, err := src.Groups(context.Background(), User{Email: user})
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		return got
	}
	for i := range users {
		if got := read(fmt.Sprintf("u%02d@acme.com", i)); !slices.Equal(got, []string{"eng@acme.com", "all@acme.com"}) {
			t.Fatalf("u%02d: groups %v", i, got)
		}
	}
	if n := len(g.Calls("/admin/directory/v1/groups")); n != users+2 {
		t.Errorf("%d groups.list calls for %d users of one nested group, want %d (each user, then eng@ and all@ once)", n, users, users+2)
	}
	// A user's own membership is never taken from the cache.
	g.SetMemberships("u00@acme.com")
	if got := read("u00@acme.com"); len(got) != 0 {
		t.Errorf("removed from eng@: groups %v", got)
	}
	// Nesting changes are seen once parentsTTL has passed.
	g.SetMemberships("eng@acme.com")
	if got := read("u01@acme.com"); !slices.Equal(got, []string{"eng@acme.com", "all@acme.com"}) {
		t.Errorf("within parentsTTL: groups %v", got)
	}
	now = now.Add(parentsTTL)
	if got := read("u01@acme.com"); !slices.Equal(got, []string{"eng@acme.com"}) {
		t.Errorf("eng@ taken out of all@, parentsTTL later: groups %v", got)
	}
}

// TestParentCacheBounded: the cache holds at most maxParentNames names,
// dropping ended entries to make room, and caching nothing more when full.
func TestParentCacheBounded(t *testing.T) {
	c := newParentCache()
	now := time.Now()
	c.now = func() time.Time { return now }
	big := make([]string, maxParentNames/2)
	c.put("a@x", big)
	c.put("b@x", big)
	if _, ok := c.get("b@x"); ok || c.names > maxParentNames {
		t.Errorf("past the bound: cached, %d names", c.names)
	}
	c.put("a@x", big[:1]) // replaced, not added
	if c.names != 2 {
		t.Errorf("%d names after replacing a@x, want 2", c.names)
	}
	now = now.Add(parentsTTL)
	c.put("c@x", make([]string, maxParentNames-2)) // fits once a@x, ended, is dropped
	if _, ok := c.get("c@x"); !ok || c.names != maxParentNames-1 {
		t.Errorf("ended entries not dropped to make room: %d names", c.names)
	}
}
