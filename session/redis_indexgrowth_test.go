package session

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"
)

// TestIndexSetsShedEndedSessions: index entries are not removed when one
// session ends, and each login lengthens the set's TTL, so a user who signs
// in again within every lifetime (a daily user, or a script that logs in
// in a loop) kept one set member per login ever made: the set grew without
// bound in a Redis that must not evict, and each back-channel logout or
// revoke --sub read all of it. Members whose session is gone are now shed
// as the set grows.
func TestIndexSetsShedEndedSessions(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	const logins = 5 * indexPruneAt
	for range logins {
		clock.Advance(time.Second)
		r := requestWith(saveCookies(t, store, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "op-sid")))
		if err := store.Delete(httptest.NewRecorder(), r); err != nil { // sign-out
			t.Fatal(err)
		}
	}
	live := requestWith(saveCookies(t, store, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "op-sid")))
	for _, idx := range []string{
		store.index.write(subIndexPrefix, indexSub, testIssuer, "00u1ada"),
		store.index.write(sidIndexPrefix, indexSID, testIssuer, "op-sid"),
	} {
		if n := raw.SCard(ctx, idx).Val(); n > indexPruneAt {
			t.Errorf("after %d logins and sign-outs an index set holds %d members, over %d", logins, n, indexPruneAt)
		}
	}
	if n, err := store.DeleteBySubject(ctx, testIssuer, "00u1ada"); err != nil || n != 1 {
		t.Errorf("DeleteBySubject = %d, %v; want the live session", n, err)
	}
	if _, err := store.Load(live); err == nil {
		t.Error("the live session outlived revoke --sub")
	}
}
