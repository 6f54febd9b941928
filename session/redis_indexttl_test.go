package session

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestShorterLifetimeKeepsOlderSessionsIndexed: a new session only ever
// lengthens the TTL of its user's index sets (sub and sid). After an
// operator shortens session.lifetime (a reload, say from 24 h to 8 h after
// an incident), the user's next login must not give the index the new,
// shorter lifetime: once that passed, the index would be gone while the
// older, longer sessions still live, and back-channel logout (by sid or sub)
// and `portcullis sessions revoke --sub` would find nothing.
func TestShorterLifetimeKeepsOlderSessionsIndexed(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	const iss = "https://idp.example.com"
	login := func(lifetime time.Duration) *http.Request {
		s := testSession(t, clock.Now(), 0, 10)
		s.Identity.Subject, s.Identity.ProviderSubject, s.Identity.SessionID = "ada", "ada", "sid-ada"
		s.ExpiresAt = s.CreatedAt.Add(lifetime) // what finishLogin sets: now + session lifetime
		return requestWith(saveCookies(t, store, nil, s))
	}
	old := login(24 * time.Hour)       // before the reload
	_ = login(1500 * time.Millisecond) // after the reload shortened lifetime (scaled down)

	time.Sleep(2 * time.Second) // the new session's lifetime passes (Redis TTLs are real time)
	if _, err := store.Load(old); err != nil {
		t.Fatalf("the older session should still be alive: %v", err)
	}
	idx, _ := raw.Keys(ctx, subIndexPrefix+"*").Result()
	sids, _ := raw.Keys(ctx, sidIndexPrefix+"*").Result()
	t.Logf("index sets left: sub %d, sid %d", len(idx), len(sids))

	n, err := store.DeleteBySID(ctx, iss, "sid-ada") // back-channel logout of the provider session
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.DeleteBySubject(ctx, iss, "ada") // portcullis sessions revoke --sub ada
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(old); err == nil {
		t.Errorf("back-channel logout (ended %d) and revoke --sub (ended %d) left the user's older session alive: its index set expired with a newer, shorter session", n, m)
	}
}
