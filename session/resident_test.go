package session

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// realisticSession is a session as a login at an OpenID provider makes it:
// an RS256 JWT access token and ID token from a real test provider, a
// refresh token of the length Google and Keycloak issue, the identity a
// login derives.
func realisticSession(tb testing.TB, p *oidctest.Provider, i int, now time.Time) *Session {
	tb.Helper()
	sub := "user-" + strconv.Itoa(i)
	at := p.AccessToken(sub, map[string]any{"scope": "openid email profile"})
	return &Session{
		Identity: portcullis.Identity{Subject: sub, Issuer: p.Issuer, Email: sub + "@example.com",
			EmailVerified: true, PreferredUsername: sub, Groups: []string{"staff", "team-" + strconv.Itoa(i%50)},
			Scopes: []string{"openid", "email", "profile"}, SessionID: "sid-" + sub,
			Claims: map[string]any{"sub": sub, "email": sub + "@example.com", "name": "User " + strconv.Itoa(i)}},
		AccessToken: at, RefreshToken: "1//" + randomText(tb, 100), IDToken: p.IDToken(sub, "n", at),
		Expiry: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour),
	}
}

// residentStores are the two stores, each with and without KeepAccessToken.
func residentStores(t *testing.T, clock *testClock) map[string]Store {
	t.Helper()
	cfg := testCookieConfig(t, clock)
	cookie, err := NewCookieStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cookieKeep, err := NewCookieStore(cfg, StoreOptions{KeepAccessToken: true})
	if err != nil {
		t.Fatal(err)
	}
	rs, raw, _, _ := newTestRedisStore(t, clock)
	rsKeep := anotherReplica(t, raw, rs, StoreOptions{KeepAccessToken: true})
	return map[string]Store{"cookie": cookie, "cookie, keep access token": cookieKeep,
		"redis": rs, "redis, keep access token": rsKeep}
}

// TestLoadReturnsSessionWithoutTokens: the session Load returns, from the
// cache filled by Save and from a cold open, holds no ID or refresh token
// (and no access token unless the store keeps it); Full returns them all.
func TestLoadReturnsSessionWithoutTokens(t *testing.T) {
	clock := newTestClock()
	for name, store := range residentStores(t, clock) {
		t.Run(name, func(t *testing.T) {
			keep := name == "cookie, keep access token" || name == "redis, keep access token"
			want := testSession(t, clock.Now(), 3, 900)
			cs := saveCookies(t, store, nil, want)
			cold := store
			switch s := store.(type) {
			case *CookieStore:
				c, err := NewCookieStore(s.cfg, StoreOptions{KeepAccessToken: keep})
				if err != nil {
					t.Fatal(err)
				}
				cold = c
			case *RedisStore:
				c, err := s.WithCookie(s.cfg) // same connection, empty cache
				if err != nil {
					t.Fatal(err)
				}
				cold = c
			}
			for how, st := range map[string]Store{"after Save": store, "cold, then cached": cold} {
				for range 2 {
					r := requestWith(cs)
					got, err := st.Load(r)
					if err != nil {
						t.Fatalf("%s: Load: %v", how, err)
					}
					if got.IDToken != "" || got.RefreshToken != "" || !got.Elided() || !got.CanRefresh() {
						t.Errorf("%s: Load kept idt %d bytes, rt %d bytes; elided %v, can refresh %v",
							how, len(got.IDToken), len(got.RefreshToken), got.Elided(), got.CanRefresh())
					}
					if wantAT := map[bool]string{true: want.AccessToken}[keep]; got.AccessToken != wantAT {
						t.Errorf("%s: Load's access token = %q, want %q", how, got.AccessToken, wantAT)
					}
					if got.Identity.Subject != want.Identity.Subject || !got.Expiry.Equal(want.Expiry) {
						t.Errorf("%s: Load = %+v", how, got)
					}
					full, err := st.Full(r, got)
					if err != nil {
						t.Fatalf("%s: Full: %v", how, err)
					}
					if full.AccessToken != want.AccessToken || full.RefreshToken != want.RefreshToken ||
						full.IDToken != want.IDToken || full.Elided() || full.ID != got.ID {
						t.Errorf("%s: Full = at %q rt %q elided %v id %q", how, full.AccessToken, full.RefreshToken, full.Elided(), full.ID)
					}
					if again, err := st.Full(r, full); err != nil || again != full {
						t.Errorf("%s: Full of a full session = %p, %v; want itself", how, again, err)
					}
				}
			}
		})
	}
}

// TestFullRefusesAnotherSession: the cookie store reads the tokens from the
// request's cookie, so Full checks that the cookie carries the session it
// was given: another user's, or another login of the same user, is
// ErrNoSession.
func TestFullRefusesAnotherSession(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	a := testSession(t, clock.Now(), 0, 100)
	resA, err := store.Load(requestWith(saveCookies(t, store, nil, a)))
	if err != nil {
		t.Fatal(err)
	}
	other := testSession(t, clock.Now(), 0, 100)
	other.Identity.Subject = "user-2"
	relogin := testSession(t, clock.Now().Add(time.Second), 0, 100) // same user, a later login
	for name, s := range map[string]*Session{"another user": other, "another login": relogin} {
		r := requestWith(saveCookies(t, store, nil, s))
		if got, err := store.Full(r, resA); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s: Full = %v, %v; want ErrNoSession", name, got, err)
		}
	}
	if got, err := store.Full(httptest.NewRequest(http.MethodGet, "/", nil), resA); !errors.Is(err, ErrNoSession) {
		t.Errorf("Full without a cookie = %v, %v; want ErrNoSession", got, err)
	}
}

// TestRedisFullErrors: Full of a session deleted meanwhile is ErrNoSession;
// with Redis down it is an error that is not ErrNoSession.
func TestRedisFullErrors(t *testing.T) {
	clock := newTestClock()
	store, _, proc, _ := newTestRedisStore(t, clock)
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 100))
	res, err := store.Load(requestWith(cs))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(httptest.NewRecorder(), requestWith(cs)); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Full(requestWith(cs), res); !errors.Is(err, ErrNoSession) {
		t.Errorf("Full after Delete = %v, %v; want ErrNoSession", got, err)
	}
	cs = saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 100))
	if res, err = store.Load(requestWith(cs)); err != nil {
		t.Fatal(err)
	}
	proc.Stop()
	if got, err := store.Full(requestWith(cs), res); err == nil || errors.Is(err, ErrNoSession) {
		t.Errorf("Full with Redis down = %v, %v; want a store error", got, err)
	}
}

// TestSaveRefusesElidedSession: a session without its tokens is never
// stored: Save fails, sets no cookie, and leaves Redis as it was.
func TestSaveRefusesElidedSession(t *testing.T) {
	clock := newTestClock()
	for name, store := range residentStores(t, clock) {
		t.Run(name, func(t *testing.T) {
			cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 100))
			r := requestWith(cs)
			res, err := store.Load(r)
			if err != nil {
				t.Fatal(err)
			}
			changed := res.Clone()
			changed.StepUps = map[string]time.Time{"route": clock.Now()}
			for what, s := range map[string]*Session{"the loaded session": res, "a clone of it": changed} {
				rec := httptest.NewRecorder()
				if err := store.Save(rec, r, s); err == nil {
					t.Errorf("Save of %s succeeded", what)
				}
				if h := rec.Header().Values("Set-Cookie"); len(h) != 0 {
					t.Errorf("Save of %s set cookies %q", what, h)
				}
			}
			full, err := loadFull(t, store, r)
			if err != nil || full.RefreshToken == "" || full.StepUps != nil {
				t.Fatalf("the stored session after the refused saves: %+v, %v", full, err)
			}
			// The change made to the full session saves.
			ns := full.Clone()
			ns.StepUps = changed.StepUps
			if err := store.Save(httptest.NewRecorder(), r, ns); err != nil {
				t.Errorf("Save of the full session: %v", err)
			}
		})
	}
}

// TestResidentMemorySize: the resident copy of a session with realistic
// tokens holds well under half of the full session's bytes, and
// MemorySize counts what it holds.
func TestResidentMemorySize(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{JWTAccessTokens: true})
	s := realisticSession(t, p, 7, time.Now())
	full, res, keep := s.MemorySize(), s.resident(residentRule{}).MemorySize(), s.resident(residentRule{keepAccessToken: true}).MemorySize()
	t.Logf("tokens: at %d, idt %d, rt %d bytes; MemorySize full %d, resident %d, resident with the access token %d",
		len(s.AccessToken), len(s.IDToken), len(s.RefreshToken), full, res, keep)
	if res*10 >= full*4 {
		t.Errorf("resident MemorySize %d is not below 40%% of the full session's %d", res, full)
	}
	if keep-res != len(s.AccessToken) {
		t.Errorf("keeping the access token adds %d bytes to MemorySize, want %d", keep-res, len(s.AccessToken))
	}
	if s.resident(residentRule{}).AccessToken != "" || s.AccessToken == "" || s.Elided() {
		t.Error("resident changed the session it copies")
	}
}

// TestResidentSharesNames: the resident copies of two users' sessions,
// opened from separate cookies, share one copy of the issuer and of each
// group and scope name, with the same values as before; the subject
// stands in for an equal username.
func TestResidentSharesNames(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{JWTAccessTokens: true})
	now := time.Now()
	a, b := realisticSession(t, p, 1, now), realisticSession(t, p, 51, now) // same teams: 1 % 50 == 51 % 50
	// As if decoded from separate cookies: no string shared yet.
	for _, s := range []*Session{a, b} {
		s.Identity.Issuer = strings.Clone(s.Identity.Issuer)
		s.Identity.Groups = cloneAll(s.Identity.Groups)
		s.Identity.PreferredUsername = strings.Clone(s.Identity.Subject)
	}
	ra, rb := a.resident(residentRule{}), b.resident(residentRule{})
	same := func(x, y string) bool { return len(x) > 0 && unsafe.StringData(x) == unsafe.StringData(y) }
	if !same(ra.Identity.Issuer, rb.Identity.Issuer) {
		t.Error("the issuer is held twice")
	}
	for i := range ra.Identity.Groups {
		if !same(ra.Identity.Groups[i], rb.Identity.Groups[i]) {
			t.Errorf("group %q is held twice", ra.Identity.Groups[i])
		}
	}
	if !same(ra.Identity.PreferredUsername, ra.Identity.Subject) {
		t.Error("the username equal to the subject is held twice")
	}
	if !reflect.DeepEqual(ra.Identity.Groups, a.Identity.Groups) || !reflect.DeepEqual(ra.Identity.Scopes, a.Identity.Scopes) ||
		ra.Identity.Issuer != a.Identity.Issuer || ra.Identity.PreferredUsername != a.Identity.PreferredUsername {
		t.Errorf("the resident identity changed: %+v, want %+v", ra.Identity, a.Identity)
	}
	if same(a.Identity.Groups[0], b.Identity.Groups[0]) {
		t.Error("resident changed the sessions it copies")
	}
}

func cloneAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

// TestNothingToElide: a session without an ID or refresh token whose access
// token is kept is not elided: Full returns it, Save accepts it.
func TestNothingToElide(t *testing.T) {
	s := &Session{AccessToken: "at", ExpiresAt: time.Now().Add(time.Hour)}
	res := s.resident(residentRule{keepAccessToken: true})
	if res.Elided() || res.CanRefresh() || res.AccessToken != "at" {
		t.Errorf("resident = %+v, elided %v", res, res.Elided())
	}
	if s.resident(residentRule{}).CanRefresh() || !s.resident(residentRule{}).Elided() {
		t.Error("without the access token the copy must be elided and cannot refresh")
	}
}

// TestResidentKeepsOnlyTheClaimsRead: with KeepClaims the resident copy
// keeps only the top-level claims those paths read (a dotted path's first
// segment, or a key that holds dots whole), is elided for the others, and
// a request's claim lookups find what they need in it.
func TestResidentKeepsOnlyTheClaimsRead(t *testing.T) {
	s := &Session{ExpiresAt: time.Now().Add(time.Hour), Identity: portcullis.Identity{Subject: "u", Claims: map[string]any{
		"sub": "u", "email": "u@example.com", "name": "U", "org": map[string]any{"id": "42"},
		"https://example.com/roles": []any{"admin"}, "amr": []any{"pwd"},
	}}}
	rule := newResidentRule(StoreOptions{KeepClaims: []string{"org.id", "https://example.com/roles", "absent.claim"}})
	res := s.resident(rule)
	if got := slices.Sorted(maps.Keys(res.Identity.Claims)); !slices.Equal(got, []string{"https://example.com/roles", "org"}) {
		t.Errorf("resident claims = %v", got)
	}
	if !res.Elided() {
		t.Error("a copy without some claims must be elided (Save refuses it, Full restores them)")
	}
	for _, path := range []string{"org.id", "https://example.com/roles"} {
		want, _ := s.Identity.Claim(path)
		if got, ok := res.Identity.Claim(path); !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("resident Claim(%q) = %v, %v; want %v", path, got, ok, want)
		}
	}
	if len(s.Identity.Claims) != 6 {
		t.Error("resident changed the session it copies")
	}
	if all := s.resident(newResidentRule(StoreOptions{})); len(all.Identity.Claims) != 6 {
		t.Errorf("without KeepClaims every claim is kept, got %v", all.Identity.Claims)
	}
	if none := s.resident(newResidentRule(StoreOptions{KeepClaims: []string{}})); none.Identity.Claims != nil || !none.Elided() {
		t.Errorf("with an empty KeepClaims no claim is kept, got %v", none.Identity.Claims)
	}
}

// TestFullRestoresClaims: a store keeping only some claims returns them all
// from Full.
func TestFullRestoresClaims(t *testing.T) {
	clock := newTestClock()
	store, err := NewCookieStore(testCookieConfig(t, clock), StoreOptions{KeepClaims: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	want := testSession(t, clock.Now(), 5, 300)
	want.Identity.Claims = map[string]any{"sub": "user-1", "email": "u@example.com", "hd": "example.com"}
	cs := saveCookies(t, store, nil, want)
	got, err := store.Load(requestWith(cs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Identity.Claims) != 1 || got.Identity.Claims["email"] != "u@example.com" {
		t.Errorf("Load claims = %v, want only email", got.Identity.Claims)
	}
	full, err := store.Full(requestWith(cs), got)
	if err != nil || !reflect.DeepEqual(full.Identity.Claims, want.Identity.Claims) {
		t.Errorf("Full claims = %v, %v; want %v", full, err, want.Identity.Claims)
	}
}
