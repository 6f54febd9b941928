package session

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestGoogleIssuerWithoutSchemeIsRevocable: Google's ID tokens name their
// issuer "https://accounts.google.com" or "accounts.google.com", and
// go-oidc accepts both for the configured "https://accounts.google.com".
// The session's Identity.Issuer is the token's claim, so a login with the
// short form was indexed under it, while `sessions revoke --sub` (and
// `list --sub`, and back-channel logout) look the user up under the
// configured issuer: revoke said "revoked 0 session(s)" and the session
// lived on.
func TestGoogleIssuerWithoutSchemeIsRevocable(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	sids := 0
	login := func(iss string) *http.Request {
		clock.Advance(time.Second)
		// Each sign-in is a provider session of its own: a logged-out sid
		// does not sign in again (ErrLoggedOut).
		sids++
		s := emailSession(t, clock.Now(), "ada@example.com", "1077", "g-sid-"+iss+strconv.Itoa(sids))
		s.Identity.Issuer = iss
		return requestWith(saveCookies(t, store, nil, s))
	}
	short := login("accounts.google.com")
	long := login("https://accounts.google.com")

	infos, err := store.List(ctx, "https://accounts.google.com", "1077")
	if err != nil || len(infos) != 2 {
		t.Errorf("List --sub under the configured issuer = %d sessions, %v; want 2", len(infos), err)
	}
	n, err := store.DeleteBySID(ctx, "https://accounts.google.com", "g-sid-accounts.google.com1")
	if err != nil || n != 1 {
		t.Errorf("DeleteBySID = %d, %v; want 1", n, err)
	}
	if _, err := store.Load(short); err == nil {
		t.Error("the session signed in with iss \"accounts.google.com\" outlived the back-channel logout of its sid")
	}
	short = login("accounts.google.com")
	n, err = store.DeleteBySubject(ctx, "https://accounts.google.com", "1077")
	if err != nil || n != 2 {
		t.Errorf("DeleteBySubject = %d, %v; want 2", n, err)
	}
	for name, r := range map[string]*http.Request{"accounts.google.com": short, "https://accounts.google.com": long} {
		if _, err := store.Load(r); err == nil {
			t.Errorf("the session signed in with iss %q outlived revoke --sub", name)
		}
	}

	// A session indexed by an earlier version under the short spelling.
	old := login("https://accounts.google.com")
	s, err := store.Load(old)
	if err != nil {
		t.Fatal(err)
	}
	raw.SAdd(ctx, subIndexPrefix+indexName(store.index.keys[0], indexSub, "accounts.google.com", "9"), sessionKey(s.ID))
	raw.Del(ctx, store.index.write(subIndexPrefix, indexSub, "https://accounts.google.com", "1077"))
	if n, err := store.DeleteBySubject(ctx, "https://accounts.google.com", "9"); err != nil || n != 1 {
		t.Errorf("DeleteBySubject of a session indexed under the short spelling = %d, %v; want 1", n, err)
	}
}
