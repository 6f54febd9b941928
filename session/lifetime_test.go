package session

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// lowered is a store as a reload builds it after session.lifetime changed
// to lifetime: the same secrets and Redis, a fresh store.
type lowered func(tb testing.TB, lifetime time.Duration) Store

// loweringStores gives each store kind, its clock and how a reload rebuilds it.
func loweringStores(t *testing.T) map[string]func(t *testing.T) (Store, *testClock, lowered) {
	return map[string]func(t *testing.T) (Store, *testClock, lowered){
		"cookie": func(t *testing.T) (Store, *testClock, lowered) {
			clock := newTestClock()
			store := newTestCookieStore(t, testCookieConfig(t, clock))
			return store, clock, func(tb testing.TB, lifetime time.Duration) Store {
				cfg := store.cfg
				cfg.Lifetime = lifetime
				return newTestCookieStore(tb, cfg)
			}
		},
		"redis": func(t *testing.T) (Store, *testClock, lowered) {
			clock := newTestClock()
			store, _, _, _ := newTestRedisStore(t, clock)
			return store, clock, func(tb testing.TB, lifetime time.Duration) Store {
				cfg := store.cfg
				cfg.Lifetime = lifetime
				s, err := store.WithCookie(cfg)
				if err != nil {
					tb.Fatal(err)
				}
				return s
			}
		},
	}
}

// TestLoweredLifetimeEndsOlderSessions: session.lifetime is the absolute
// limit the gateway enforces now, not the one in force at sign-in. A reload
// that lowers it (an operator cutting sessions short) ends every session
// older than the new lifetime, one whose tokens were refreshed (and so
// sealed again) since too, and one a replica opened and cached while it was
// still younger ends when it reaches the new lifetime.
func TestLoweredLifetimeEndsOlderSessions(t *testing.T) {
	for name, build := range loweringStores(t) {
		t.Run(name+"/refreshed since sign-in", func(t *testing.T) {
			store, clock, reload := build(t)
			cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 1, 10))
			clock.Advance(2 * time.Hour)
			// A refresh: the session saved again with a new access token.
			r := requestWith(cs)
			s, err := loadFull(t, store, r)
			if err != nil {
				t.Fatal(err)
			}
			s = s.Clone()
			s.AccessToken = "at-refreshed"
			cs = mergeCookies(cs, saveCookies(t, store, r, s))

			after := reload(t, time.Hour)
			if got, err := after.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
				t.Errorf("a 2h-old session after lifetime was lowered to 1h: Load = %+v, %v; want ErrNoSession", got, err)
			}
		})
		t.Run(name+"/opened before it reached the new lifetime", func(t *testing.T) {
			store, clock, reload := build(t)
			cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 1, 10))
			clock.Advance(30 * time.Minute)
			after := reload(t, time.Hour)
			if _, err := after.Load(requestWith(cs)); err != nil {
				t.Fatalf("a 30-minute-old session with lifetime 1h: %v", err)
			}
			clock.Advance(31 * time.Minute)
			if got, err := after.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
				t.Errorf("the same session at 61 minutes: Load = %+v, %v; want ErrNoSession", got, err)
			}
		})
	}
}

// mergeCookies returns cs with the cookies of set replacing those of the
// same name, as a browser keeps them.
func mergeCookies(cs, set []*http.Cookie) []*http.Cookie {
	out := append([]*http.Cookie(nil), set...)
	for _, c := range cs {
		if cookieNamed(set, c.Name) == nil {
			out = append(out, c)
		}
	}
	return out
}

// TestLoweredLifetimeListsNoEndedSession: a session that a lowered lifetime
// ended is no longer listed, though Redis keeps its key until the TTL set
// under the old lifetime: List said "expired sessions are skipped" and
// showed it, still alive to the operator, with an end in the past.
func TestLoweredLifetimeListsNoEndedSession(t *testing.T) {
	clock := newTestClock()
	store, _, _, _ := newTestRedisStore(t, clock)
	saveCookies(t, store, nil, testSession(t, clock.Now(), 1, 10))
	clock.Advance(30 * time.Minute)
	young := testSession(t, clock.Now(), 1, 10)
	saveCookies(t, store, nil, young)
	clock.Advance(45 * time.Minute)

	cfg := store.cfg
	cfg.Lifetime = time.Hour
	after, err := store.WithCookie(cfg)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := after.List(t.Context(), "https://idp.example.com", "")
	if err != nil || len(infos) != 1 || !infos[0].CreatedAt.Equal(young.CreatedAt) {
		t.Fatalf("List after lifetime was lowered to 1h = %+v, %v; want the 45-minute-old session only", infos, err)
	}
	if want := young.CreatedAt.Add(time.Hour); !infos[0].ExpiresAt.Equal(want) {
		t.Errorf("the listed session ends at %s; want %s (its sign-in + the lifetime in force)", infos[0].ExpiresAt, want)
	}
}
