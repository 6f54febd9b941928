package directory

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestGroupNameLengthBounded: the per-user bounds are 50 pages,
// 2000 groups and 4 MiB per response, but nothing bounds one group's name,
// so the bytes a read keeps (and then puts in the session, the identity
// cache and the groups header) are bounded only by 50 x 4 MiB. Real group
// names are short (Google addresses <= 254 bytes, GitHub "org/slug" ~140,
// Graph GUIDs 36). Here a directory answers 12 pages of one 3 MiB group
// each, and the read succeeds with 36 MiB of groups.
func TestGroupNameLengthBounded(t *testing.T) {
	const pages, size = 12, 3 << 20
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("$skiptoken"))
		next := ""
		if n+1 < pages {
			next = fmt.Sprintf(`,"@odata.nextLink":"http://%s%s?$select=id&$skiptoken=%d"`, r.Host, r.URL.Path, n+1)
		}
		fmt.Fprintf(w, `{"value":[{"id":"%d-%s"}]%s}`, n, strings.Repeat("a", size), next)
	}))
	defer srv.Close()
	g, err := NewGraph(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Groups(context.Background(), User{AccessToken: "graph-at"})
	total := 0
	for _, s := range got {
		total += len(s)
	}
	if err == nil && total > maxBody {
		t.Errorf("%d groups holding %d MiB accepted (longest %d bytes); want an error for an over-long group name",
			len(got), total>>20, len(got[0]))
	}
}

// TestAdminSDKReadsFiftyGroups: the Admin SDK path spends one page
// per group found (to list that group's own parents), and the page bound is
// 50 per user, so any user with 50 or more groups (direct or nested) cannot
// sign in at all with google_admin_email (every read is an error), although
// docs/providers/google.md states "a bound of 50 pages and 2000 groups per
// user". Fail-closed, but an availability bug, and the documented 2000 is
// unreachable.
func TestAdminSDKReadsFiftyGroups(t *testing.T) {
	f := newFakeGoogle(t)
	f.pageSize = 200
	for i := range 50 {
		f.groups["ann@acme.com"] = append(f.groups["ann@acme.com"], fmt.Sprintf("g%02d@acme.com", i))
	}
	g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, f.srv.URL+"/token"),
		AdminEmail: "admin@acme.com", BaseURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Groups(context.Background(), User{Email: "ann@acme.com"})
	if err != nil || len(got) != 50 {
		t.Errorf("a user in 50 flat groups (one page of groups.list): %d groups, err %v", len(got), err)
	}
}

// TestPastMaxGroupsFailsTheRead: a user in more than MaxGroups groups
// (Graph here, nested included) gets an error, never the first MaxGroups:
// docs/configuration.md says such a user cannot sign in, and a route
// allowing a group past the cut must not depend on Graph's order.
func TestPastMaxGroupsFailsTheRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for i := range MaxGroups + 1 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"@odata.type":"#microsoft.graph.group","id":"00000000-0000-0000-0000-%012d"}`, i)
		}
		fmt.Fprintf(w, `{"value":[%s]}`, b.String())
	}))
	defer srv.Close()
	g, err := NewGraph(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Groups(context.Background(), User{AccessToken: "graph-at"})
	if err == nil || got != nil || !strings.Contains(err.Error(), "more than 2000 groups") {
		t.Errorf("%d groups, err %v; want no groups and an error naming the bound", len(got), err)
	}
}
