package session

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRedisLogoutEndsSessionsWhenFull: a Redis full under noeviction
// refuses the logout marker (a SET) but still serves the sessions and lets
// them be deleted (UNLINK frees memory). A back-channel logout or
// `sessions revoke` failed on the marker before it deleted anything, so
// while Redis stayed full nobody could end a session but its own browser.
// The sessions are now ended; the marker's failure is still returned, so
// the provider retries and the operator is told.
func TestRedisLogoutEndsSessionsWhenFull(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	sessions := func() int { return len(raw.Keys(ctx, sessionKeyPrefix+"*").Val()) }
	ends := []struct {
		name string
		end  func() (int, error)
	}{
		{"by sid", func() (int, error) { return store.DeleteBySID(ctx, testIssuer, "sid-1") }},
		{"by sub", func() (int, error) { return store.DeleteBySubject(ctx, testIssuer, "00u1ada") }},
		{"revoke", func() (int, error) { return store.RevokeSubject(ctx, testIssuer, "00u1ada") }},
	}
	for _, e := range ends {
		raw.ConfigSet(ctx, "maxmemory", "0")
		s := emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "sid-1")
		s.Identity.Issuer = testIssuer
		if err := store.Save(httptest.NewRecorder(), nil, s); err != nil {
			t.Fatal(err)
		}
		raw.ConfigSet(ctx, "maxmemory-policy", "noeviction")
		raw.ConfigSet(ctx, "maxmemory", "1")
		n, err := e.end()
		if err == nil || !strings.Contains(err.Error(), "OOM") {
			t.Errorf("%s, Redis full: err %v, want the marker's OOM", e.name, err)
		}
		if left := sessions(); left != 0 || n != 1 {
			t.Errorf("%s, Redis full: %d ended, %d left; want 1 and none", e.name, n, left)
		}
	}
}
