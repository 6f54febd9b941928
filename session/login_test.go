package session

import (
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// TestLoginOfKeepsItsSessionAcrossRefreshes: a session read again is its
// sign-in's as long as only what a refresh or a directory read changes has
// changed, and another sign-in's (another id, another start, another
// user) never is, however alike.
func TestLoginOfKeepsItsSessionAcrossRefreshes(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	alice := &Session{ID: "id-a", CreatedAt: at, AccessToken: "at1",
		Identity: portcullis.Identity{Subject: "alice", Issuer: "https://op", ProviderSubject: "a-sub"}}
	l := LoginOf(alice)

	refreshed := alice.Clone()
	refreshed.AccessToken, refreshed.Expiry, refreshed.GroupsReadAt = "at2", at.Add(time.Hour), at.Add(time.Minute)
	refreshed.Identity.Subject = "alice@new.example" // a user_claim value the provider changed
	old := alice.Clone()
	old.Identity.ProviderSubject = "" // saved before sessions held the sub
	cookie := alice.Clone()
	cookie.ID = "" // the cookie store's copy of a session saved with an id (tests do)
	for name, s := range map[string]*Session{"itself": alice, "refreshed": refreshed, "without its sub": old, "without an id": cookie} {
		if !l.Of(s) {
			t.Errorf("%s: not of its own sign-in", name)
		}
	}

	other := func(change func(*Session)) *Session { s := alice.Clone(); change(s); return s }
	for name, s := range map[string]*Session{
		"another id":     other(func(s *Session) { s.ID = "id-b" }),
		"another start":  other(func(s *Session) { s.CreatedAt = at.Add(time.Nanosecond) }),
		"another issuer": other(func(s *Session) { s.Identity.Issuer = "https://other" }),
		"another user":   other(func(s *Session) { s.Identity.ProviderSubject = "b-sub" }),
	} {
		if l.Of(s) {
			t.Errorf("%s: read as alice's sign-in", name)
		}
	}
}
