package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

// TestRedisSaveRefusesSessionsLoggedOutDuringSignIn: a back-channel logout
// or revocation by sub ends only the sessions that exist when it runs. A
// sign-in under way at that moment (at the provider, or in its code
// exchange) saved its session afterwards, and that session of a provider
// session just ended lived on. Save now refuses a new session whose sid
// was logged out, or whose user was logged out after its sign-in began,
// and leaves nothing of it in Redis; the markers hold no identifier and
// expire once no sign-in begun before the logout can still complete.
func TestRedisSaveRefusesSessionsLoggedOutDuringSignIn(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	save := func(sub, sid string, began time.Time) error {
		s := emailSession(t, clock.Now(), "ada@example.com", sub, sid)
		s.Identity.Issuer, s.SignInStarted = testIssuer, began
		return store.Save(httptest.NewRecorder(), nil, s)
	}
	sessions := func() int { return len(raw.Keys(ctx, sessionKeyPrefix+"*").Val()) }

	began := clock.Now()
	clock.Advance(time.Second)
	if _, err := store.DeleteBySID(ctx, testIssuer, "sid-1"); err != nil {
		t.Fatal(err)
	}
	if err := save("00u1ada", "sid-1", began); !errors.Is(err, ErrLoggedOut) || sessions() != 0 {
		t.Errorf("a sign-in of a logged-out sid: %v, %d sessions; want ErrLoggedOut and none", err, sessions())
	}
	if err := save("00u1ada", "sid-2", began); err != nil {
		t.Errorf("a sign-in of another sid: %v", err)
	}

	clock.Advance(time.Second)
	if _, err := store.DeleteBySubject(ctx, testIssuer, "00u1ada"); err != nil {
		t.Fatal(err)
	}
	if err := save("00u1ada", "sid-3", began); !errors.Is(err, ErrLoggedOut) {
		t.Errorf("a sign-in begun before a logout by sub: %v, want ErrLoggedOut", err)
	}
	if err := save("00u2bob", "sid-4", began); err != nil {
		t.Errorf("another user's sign-in: %v", err)
	}
	clock.Advance(time.Second)
	if err := save("00u1ada", "sid-5", clock.Now()); err != nil {
		t.Errorf("a sign-in begun after the logout by sub: %v", err)
	}

	for _, pattern := range []string{loggedOutSubPrefix + "*", loggedOutSIDPrefix + "*"} {
		for _, k := range raw.Keys(ctx, pattern).Val() {
			if ttl := raw.PTTL(ctx, k).Val(); ttl <= 0 || ttl > loggedOutTTL {
				t.Errorf("marker %s has TTL %v, want at most %v", k, ttl, loggedOutTTL)
			}
		}
	}
	if n := len(raw.Keys(ctx, "portcullis:out:*").Val()); n != 2 {
		t.Errorf("%d logout markers, want 2 (one sid, one sub)", n)
	}
}
