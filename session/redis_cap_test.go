package session

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestSessionsPerUserCapped: a user who signs in again and again (a
// script) and never signs out kept every session for session.lifetime, one
// Redis value each. A sign-in beyond maxSessionsPerUser live sessions of
// the provider's user now ends the oldest, so the user keeps the newest
// maxSessionsPerUser; another user's sessions are untouched. Each session
// here is created a second after the one before it, so "oldest" is exact.
func TestSessionsPerUserCapped(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	t0 := clock.Now()
	bob := requestWith(saveCookies(t, store, nil, emailSession(t, t0, "bob@example.com", "00u1bob", "bob-sid")))
	const extra = 5
	var ada []*http.Request // oldest first
	for i := range maxSessionsPerUser + extra {
		s := emailSession(t, t0.Add(time.Duration(i)*time.Second), "ada@example.com", "00u1ada", "")
		ada = append(ada, requestWith(saveCookies(t, store, nil, s)))
	}
	for i, r := range ada {
		_, err := store.Load(r)
		switch {
		case i < extra && !errors.Is(err, ErrNoSession):
			t.Errorf("sign-in %d of %d: Load = %v, want ErrNoSession (one of the %d oldest)", i, len(ada), err, extra)
		case i >= extra && err != nil:
			t.Errorf("sign-in %d of %d: Load = %v, want the session (one of the newest %d)", i, len(ada), err, maxSessionsPerUser)
		}
	}
	if _, err := store.Load(bob); err != nil {
		t.Errorf("another user's session: Load = %v", err)
	}
	keys, err := raw.Keys(ctx, sessionKeyPrefix+"*").Result()
	if err != nil || len(keys) != maxSessionsPerUser+1 {
		t.Errorf("%d session values in Redis (%v), want %d", len(keys), err, maxSessionsPerUser+1)
	}
	idx := store.index.write(subIndexPrefix, indexSub, testIssuer, "00u1ada")
	if n := raw.SCard(ctx, idx).Val(); n != maxSessionsPerUser {
		t.Errorf("the user's index set holds %d members, want %d", n, maxSessionsPerUser)
	}
}
