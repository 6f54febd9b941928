package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
)

// TestRedisRefreshedSIDIsIndexed: a refresh whose ID token names another
// provider session (sid) than the sign-in's is saved in place. The index
// was written at sign-in only, so a back-channel logout of the new sid
// ended nothing (DeleteBySID = 0); and a logout of it that came while the
// refresh was under way, before the save, was lost too. Now the save
// indexes the session under the sid it names, a logout of either sid ends
// it, and a save after a logout of its new sid ends the session.
func TestRedisRefreshedSIDIsIndexed(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	sessions := func() int { return len(raw.Keys(ctx, sessionKeyPrefix+"*").Val()) }
	// refreshed signs ada in under sid-1 and saves her session's refresh,
	// whose ID token named sid (its error).
	refreshed := func(sid string) error {
		s := emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "sid-1")
		s.Identity.Issuer = testIssuer
		r := requestWith(saveCookies(t, store, nil, s))
		full, err := loadFull(t, store, r)
		if err != nil {
			t.Fatal(err)
		}
		full.Identity.SessionID = sid
		return store.Save(httptest.NewRecorder(), r, full)
	}

	for _, logout := range []string{"sid-2", "sid-1"} {
		if err := refreshed("sid-2"); err != nil {
			t.Fatal(err)
		}
		if n, err := store.DeleteBySID(ctx, testIssuer, logout); err != nil || n != 1 || sessions() != 0 {
			t.Errorf("logout of %s after a refresh to sid-2: %d ended (%v), %d left; want 1, none left", logout, n, err, sessions())
		}
		raw.FlushDB(ctx)
	}

	if _, err := store.DeleteBySID(ctx, testIssuer, "sid-3"); err != nil {
		t.Fatal(err)
	}
	if err := refreshed("sid-3"); !errors.Is(err, ErrNoSession) || sessions() != 0 {
		t.Errorf("a refresh to sid-3 saved after its logout: %v, %d sessions; want ErrNoSession, none", err, sessions())
	}
	if err := refreshed("sid-4"); err != nil || sessions() != 1 {
		t.Errorf("a refresh to a sid never logged out: %v, %d sessions; want saved", err, sessions())
	}
}
