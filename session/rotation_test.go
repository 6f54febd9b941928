package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestSealedValuesOpenAsTheirOwnKindOnly: every sealed value the gateway
// makes (a cookie-store session, a Redis session-id cookie, a login state, a
// session value stored in Redis) is refused wherever another kind is read,
// with the same secrets and under the same cookie name: the keys are derived
// per purpose, so neither a replayed login state nor a store change makes
// one kind open as another.
func TestSealedValuesOpenAsTheirOwnKindOnly(t *testing.T) {
	clock := newTestClock()
	rs, raw, _, _ := newTestRedisStore(t, clock)
	cfg := rs.cfg
	cs := newTestCookieStore(t, cfg)
	states := newTestStateCookies(t, cfg)
	name := cfg.Name

	cookieValue := saveCookies(t, cs, nil, testSession(t, clock.Now(), 0, 10))[0].Value
	redisID := saveCookies(t, rs, nil, testSession(t, clock.Now(), 0, 10))[0].Value
	keys := raw.Keys(context.Background(), sessionKeyPrefix+"*").Val()
	if len(keys) != 1 {
		t.Fatalf("Redis holds %d sessions, want 1", len(keys))
	}
	redisValue := raw.Get(context.Background(), keys[0]).Val()
	stateCookie := issue(t, states, nil, "state-1")[0]

	asSession := func(v string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://gw.example.com/", nil)
		r.AddCookie(&http.Cookie{Name: name, Value: v})
		return r
	}
	for _, tc := range []struct {
		what  string
		store Store
		value string
	}{
		{"a Redis session-id cookie read by the cookie store", cs, redisID},
		{"a cookie-store session read by the Redis store", rs, cookieValue},
		{"a login state read by the cookie store", cs, stateCookie.Value},
		{"a login state read by the Redis store", rs, stateCookie.Value},
		{"a session value from Redis read by the cookie store", cs, redisValue},
	} {
		if _, err := tc.store.Load(asSession(tc.value)); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s: Load = %v, want ErrNoSession", tc.what, err)
		}
	}
	for what, v := range map[string]string{"a cookie-store session": cookieValue, "a Redis session-id cookie": redisID} {
		forged := []*http.Cookie{{Name: stateCookie.Name, Value: v}}
		if _, _, err := take(states, forged, "state-1"); !errors.Is(err, ErrLoginState) {
			t.Errorf("%s taken as a login state: %v, want ErrLoginState", what, err)
		}
	}
}

// TestSecretRotationAcrossReplicas: replicas roll a secret rotation one by
// one, so that for a while two neighbouring configurations serve side by
// side (docs/sessions.md, rotating the secrets). In the three steps the
// docs give ([OLD] → [OLD, NEW] → [NEW, OLD] → [NEW]), each configuration
// opens the sessions and login states its neighbour seals, and a sign-out
// or a revocation on either ends the session in Redis. Going from [OLD] to
// [NEW, OLD] in one step does not: a replica not yet rolled cannot open the
// new cookies, and a sign-out there leaves the session alive in Redis.
func TestSecretRotationAcrossReplicas(t *testing.T) {
	clock := newTestClock()
	base, raw, _, _ := newTestRedisStore(t, clock)
	old, fresh := base.cfg.Secrets[0], randomSecret(t)
	withSecrets := func(secrets ...[]byte) (*RedisStore, *CookieStore, *StateCookies) {
		cfg := testCookieConfig(t, clock, secrets...)
		rs, err := base.WithCookie(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rs, newTestCookieStore(t, cfg), newTestStateCookies(t, cfg)
	}
	type replica struct {
		rs     *RedisStore
		cs     *CookieStore
		states *StateCookies
	}
	var steps []replica
	for _, secrets := range [][][]byte{{old}, {old, fresh}, {fresh, old}, {fresh}} {
		rs, cs, states := withSecrets(secrets...)
		steps = append(steps, replica{rs, cs, states})
	}
	ctx := context.Background()
	logins := 0
	for i := range len(steps) - 1 {
		for _, pair := range [][2]replica{{steps[i], steps[i+1]}, {steps[i+1], steps[i]}} {
			sealer, opener := pair[0], pair[1]
			if _, err := opener.cs.Load(requestWith(saveCookies(t, sealer.cs, nil, testSession(t, clock.Now(), 0, 10)))); err != nil {
				t.Errorf("step %d/%d: a cookie-store session sealed beside: %v", i, i+1, err)
			}
			logins++
			state := "state-" + strconv.Itoa(logins) // each jar accepts a state once
			if _, _, err := take(opener.states, issue(t, sealer.states, nil, state), state); err != nil {
				t.Errorf("step %d/%d: a login state issued beside: %v", i, i+1, err)
			}
			r := requestWith(saveCookies(t, sealer.rs, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "")))
			if _, err := opener.rs.Load(r); err != nil {
				t.Errorf("step %d/%d: a Redis session saved beside: %v", i, i+1, err)
			}
			if n, err := opener.rs.DeleteBySubject(ctx, testIssuer, "00u1ada"); err != nil || n != 1 {
				t.Errorf("step %d/%d: revoking a session saved beside = %d, %v; want 1", i, i+1, n, err)
			}
			r = requestWith(saveCookies(t, sealer.rs, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "")))
			if err := opener.rs.Delete(httptest.NewRecorder(), r); err != nil {
				t.Fatal(err)
			}
			if _, err := sealer.rs.Load(r); !errors.Is(err, ErrNoSession) {
				t.Errorf("step %d/%d: a sign-out beside left the session alive: %v", i, i+1, err)
			}
		}
	}

	// One step, [OLD] beside [NEW, OLD]: why the docs ask for three.
	notYet, rolled := steps[0], steps[2]
	r := requestWith(saveCookies(t, rolled.rs, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "")))
	if _, err := notYet.rs.Load(r); !errors.Is(err, ErrNoSession) {
		t.Errorf("[OLD] opened a session sealed by [NEW, OLD]: %v", err)
	}
	if err := notYet.rs.Delete(httptest.NewRecorder(), r); err != nil {
		t.Fatal(err)
	}
	if n, _ := notYet.rs.DeleteBySubject(ctx, testIssuer, "00u1ada"); n != 0 {
		t.Errorf("[OLD] revoked %d sessions indexed by [NEW, OLD], want 0", n)
	}
	if _, err := rolled.rs.Load(r); err != nil {
		t.Errorf("expected the session to outlive a sign-out and a revocation on [OLD]: %v", err)
	}
	if n := len(raw.Keys(ctx, sessionKeyPrefix+"*").Val()); n != 1 {
		t.Errorf("Redis holds %d sessions, want 1", n)
	}
}
