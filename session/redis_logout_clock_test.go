package session

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestLogoutMarkerNeedsNoSharedClock: a revocation by sub refuses the
// sign-ins of the user begun before it (the logout marker). The marker
// held the revoking process's clock, compared with the clock of the replica
// that started the sign-in: `portcullis sessions revoke --sub` run on a
// host whose clock was 5 minutes behind recorded a logout "before" a
// sign-in begun a minute earlier, which then completed and signed in the
// user just revoked. The marker is now compared by durations Redis and the
// gateway each measure (the marker's age, the sign-in's), so no two clocks
// need agree.
func TestLogoutMarkerNeedsNoSharedClock(t *testing.T) {
	gwClock := newTestClock()
	gw, _, _, port := newTestRedisStore(t, gwClock)
	behind := &testClock{t: gwClock.Now().Add(-5 * time.Minute)}
	cfg := testCookieConfig(t, behind, gw.cfg.Secrets...)
	revoker, err := NewRedisStore(RedisConfig{URL: "redis://" + testenv.Addr(port) + "/0"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer revoker.Close()

	began := gwClock.Now().Add(-time.Minute) // at the provider, a minute before the revocation
	if _, err := revoker.RevokeSubject(context.Background(), testIssuer, "00u1ada"); err != nil {
		t.Fatal(err)
	}
	s := emailSession(t, gwClock.Now(), "ada@example.com", "00u1ada", "sid-1")
	s.Identity.Issuer, s.SignInStarted = testIssuer, began
	if err := gw.Save(httptest.NewRecorder(), nil, s); !errors.Is(err, ErrLoggedOut) {
		t.Errorf("a sign-in begun a minute before a revocation by a host whose clock is behind: %v, want ErrLoggedOut", err)
	}
	gwClock.Advance(time.Second)
	s = emailSession(t, gwClock.Now(), "ada@example.com", "00u1ada", "sid-2")
	s.Identity.Issuer, s.SignInStarted = testIssuer, gwClock.Now()
	if err := gw.Save(httptest.NewRecorder(), nil, s); err != nil {
		t.Errorf("a sign-in begun after the revocation: %v", err)
	}
}
