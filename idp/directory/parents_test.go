package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
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

// TestParentCacheBounded: the cache holds at most maxParentBytes, counted
// by the names' bytes (a directory's names may be maxGroupLen long: a bound
// on their number let 100,000 of them hold 100 MiB), dropping ended entries
// to make room, and caching nothing more when full.
func TestParentCacheBounded(t *testing.T) {
	c := newParentCache()
	now := time.Now()
	c.now = func() time.Time { return now }
	long := make([]string, maxParentBytes/maxGroupLen)
	for i := range long {
		long[i] = strings.Repeat("g", maxGroupLen)
	}
	c.put("long@x", long)
	if _, ok := c.get("long@x"); ok || c.bytes != 0 {
		t.Errorf("%d names of %d bytes (more than %d bytes): cached, %d bytes held", len(long), maxGroupLen, maxParentBytes, c.bytes)
	}
	half := long[:len(long)/2]
	c.put("a@x", half)
	c.put("b@x", half)
	if _, ok := c.get("b@x"); ok || c.bytes > maxParentBytes {
		t.Errorf("past the bound: cached, %d bytes", c.bytes)
	}
	c.put("a@x", []string{"all@x"}) // replaced, not added
	if want := entrySize("a@x", []string{"all@x"}); c.bytes != want {
		t.Errorf("%d bytes after replacing a@x, want %d", c.bytes, want)
	}
	c.put("a@x", half)
	now = now.Add(parentsTTL)
	c.put("c@x", half) // fits once a@x, ended, is dropped
	if _, ok := c.get("c@x"); !ok || c.bytes != entrySize("c@x", half) {
		t.Errorf("ended entries not dropped to make room: %d bytes", c.bytes)
	}
}

// TestAdminSDKListBoundedAsRead: one groups.list answer is held whole
// before its groups are added (and, for a group, cached), so it must obey
// the read's bounds while it is read: a user in more than MaxGroups
// groups fails at the page that passes MaxGroups, as it did before the
// cache, not after every page maxPages allows (up to 4 MiB each), and a
// group listed again and again is held, and cached, once.
func TestAdminSDKListBoundedAsRead(t *testing.T) {
	f := newFakeGoogle(t)
	f.pageSize = 200
	for i := range 10000 {
		f.groups["ann@acme.com"] = append(f.groups["ann@acme.com"], fmt.Sprintf("g%05d@acme.com", i))
	}
	f.groups["bob@acme.com"] = []string{"eng@acme.com"}
	for range 600 {
		f.groups["eng@acme.com"] = append(f.groups["eng@acme.com"], "all@acme.com")
	}
	src, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, f.srv.URL+"/token"),
		AdminEmail: "admin@acme.com", BaseURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Groups(context.Background(), User{Email: "ann@acme.com"})
	want := MaxGroups/200 + 1 // pages that reach the (MaxGroups+1)th group
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d groups", MaxGroups)) || f.calls > want {
		t.Errorf("a user in 10000 groups: %d groups, err %v after %d calls; want the groups bound's error by call %d",
			len(got), err, f.calls, want)
	}
	got, err = src.Groups(context.Background(), User{Email: "bob@acme.com"})
	if err != nil || !slices.Equal(got, []string{"eng@acme.com", "all@acme.com"}) {
		t.Fatalf("bob: groups %v, err %v", got, err)
	}
	if cached, _ := src.parents.get("eng@acme.com"); len(cached) != 1 {
		t.Errorf("eng@ listed all@ 600 times: %d names cached for it, want 1", len(cached))
	}
}
