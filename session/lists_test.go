package session

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/portcullis/portcullis"
)

// decoded is a session as a store opens it: its own copy of every string
// and slice.
func decoded(t *testing.T, groups, scopes []string) *Session {
	t.Helper()
	id := portcullis.Identity{Subject: "alice", Issuer: "https://idp.test", Groups: groups, Scopes: scopes}
	b, err := json.Marshal(&Session{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// TestResidentListsShared pins that resident sessions with the same group
// and scope lists share one copy of each, that lists differing in any way
// (one name against two that join to it) do not, and that a shared list
// cannot be changed through another session by an append.
func TestResidentListsShared(t *testing.T) {
	groups, scopes := []string{"staff", "team-7"}, []string{"openid", "email", "profile"}
	a := decoded(t, groups, scopes).resident(residentRule{})
	b := decoded(t, groups, scopes).resident(residentRule{})
	if &a.Identity.Groups[0] != &b.Identity.Groups[0] || &a.Identity.Scopes[0] != &b.Identity.Scopes[0] {
		t.Error("two resident sessions with the same lists hold a copy each")
	}
	if !slices.Equal(b.Identity.Groups, groups) || !slices.Equal(b.Identity.Scopes, scopes) {
		t.Errorf("resident lists %q %q, want %q %q", b.Identity.Groups, b.Identity.Scopes, groups, scopes)
	}
	grown := append(a.Identity.Groups, "admins")
	if !slices.Equal(b.Identity.Groups, groups) || &grown[0] == &b.Identity.Groups[0] {
		t.Error("an append to one session's shared groups reached another's")
	}
	for _, other := range [][]string{{"5:staff6:team-7"}, {"staff6:team-7"}, {"staff", "team-7", ""}, {"staff"}, {"team-7", "staff"}} {
		c := decoded(t, other, nil).resident(residentRule{})
		if !slices.Equal(c.Identity.Groups, other) {
			t.Errorf("groups %q became %q", other, c.Identity.Groups)
		}
	}
	if a.Identity.Groups = internAll(nil); a.Identity.Groups != nil {
		t.Error("no groups became a list")
	}
}
