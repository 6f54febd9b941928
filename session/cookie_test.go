package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func newTestCookieStore(tb testing.TB, cfg CookieConfig) *CookieStore {
	tb.Helper()
	s, err := NewCookieStore(cfg)
	if err != nil {
		tb.Fatalf("NewCookieStore: %v", err)
	}
	return s
}

func TestCookieStoreRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name       string
		groups     int
		idTokenLen int
		wantChunks int
	}{
		{"small", 2, 800, 1},
		{"200 groups", 200, 1000, 1},
		{"incompressible, three chunks", 0, 7000, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newTestClock()
			store := newTestCookieStore(t, testCookieConfig(t, clock))
			want := testSession(t, clock.Now(), tc.groups, tc.idTokenLen)
			cs := saveCookies(t, store, nil, want)
			if len(cs) != tc.wantChunks {
				t.Fatalf("Save set %d cookies, want %d", len(cs), tc.wantChunks)
			}
			// A fresh store (another replica) must open it without the cache.
			other := newTestCookieStore(t, store.cfg)
			got, err := loadFull(t, other, requestWith(cs))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(normalise(got), normalise(want)) {
				t.Errorf("Load = %+v\nwant %+v", got, want)
			}
		})
	}
}

// normalise drops what JSON does not round-trip exactly (monotonic clock
// readings; numbers in Claims).
func normalise(s *Session) *Session {
	c := s.Clone()
	c.Identity.Claims = nil
	c.Expiry, c.CreatedAt, c.ExpiresAt = c.Expiry.Round(0).UTC(), c.CreatedAt.Round(0).UTC(), c.ExpiresAt.Round(0).UTC()
	return c
}

func TestCookieStoreSize200Groups(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 200, 1024))
	total := 0
	for _, c := range cs {
		total += len(c.Name) + 1 + len(c.Value)
	}
	t.Logf("200 groups + 1 KB ID token: %d cookie(s), %d bytes", len(cs), total)
	if total >= 8192 {
		t.Errorf("cookies take %d bytes, want under 8192", total)
	}
}

func TestCookieStoreRefusesDamagedChunks(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 7000))
	if len(cs) != 3 {
		t.Fatalf("want 3 chunks, got %d", len(cs))
	}
	base, c1, c2 := cs[0], cs[1], cs[2]
	flip := func(v string, i int) string {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	with := func(c *http.Cookie, v string) *http.Cookie { return &http.Cookie{Name: c.Name, Value: v} }
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
	}{
		{"flipped byte in chunk 0", []*http.Cookie{with(base, flip(base.Value, 100)), c1, c2}},
		{"flipped byte in chunk 2", []*http.Cookie{base, c1, with(c2, flip(c2.Value, 10))}},
		{"truncated last chunk", []*http.Cookie{base, c1, with(c2, c2.Value[:len(c2.Value)-5])}},
		{"reordered chunks", []*http.Cookie{base, with(c1, c2.Value), with(c2, c1.Value)}},
		{"missing chunk", []*http.Cookie{base, c2}},
		{"count lowered", []*http.Cookie{with(base, "2"+base.Value[1:]), c1, c2}},
		{"count raised", []*http.Cookie{with(base, "4"+base.Value[1:]), c1, c2, {Name: base.Name + "_3", Value: "AAAA"}}},
		{"garbage count", []*http.Cookie{with(base, "x"+base.Value[1:]), c1, c2}},
		{"chunk 0 alone", []*http.Cookie{base}},
		{"empty value", []*http.Cookie{with(base, "")}},
		{"no cookie", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh := newTestCookieStore(t, store.cfg)
			_, err := fresh.Load(requestWith(tc.cookies))
			if !errors.Is(err, ErrNoSession) {
				t.Errorf("Load = %v, want ErrNoSession", err)
			}
		})
	}
	// The same value under another name (e.g. a login-state name) must not open.
	t.Run("moved to another name", func(t *testing.T) {
		small := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 100))
		cfg := store.cfg
		cfg.Name = "__Host-other"
		other := newTestCookieStore(t, cfg)
		if _, err := other.Load(requestWith([]*http.Cookie{{Name: cfg.Name, Value: small[0].Value}})); !errors.Is(err, ErrNoSession) {
			t.Errorf("Load = %v, want ErrNoSession", err)
		}
	})
}

func TestCookieStoreStaleChunks(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	big := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 7000))
	small := testSession(t, clock.Now(), 0, 100)
	cs := saveCookies(t, store, requestWith(big), small)

	var cleared []string
	for _, c := range cs {
		if c.MaxAge < 0 {
			cleared = append(cleared, c.Name)
		}
	}
	if want := []string{"__Host-portcullis_1", "__Host-portcullis_2"}; !reflect.DeepEqual(cleared, want) {
		t.Errorf("Save cleared %v, want %v", cleared, want)
	}
	// A browser that kept the stale chunks still loads the new session.
	stale := append(cs[:1:1], big[1:]...)
	got, err := loadFull(t, newTestCookieStore(t, store.cfg), requestWith(stale))
	if err != nil || got.IDToken != small.IDToken {
		t.Errorf("Load with stale chunks = %v, %v; want the new session", got, err)
	}
}

func TestCookieStoreExpiry(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	s := testSession(t, clock.Now(), 0, 100)
	s.ExpiresAt = clock.Now().Add(time.Hour)
	cs := saveCookies(t, store, nil, s)
	if _, err := store.Load(requestWith(cs)); err != nil {
		t.Fatalf("Load before expiry: %v", err)
	}
	clock.Advance(time.Hour)
	if _, err := store.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
		t.Errorf("cached Load after expiry = %v, want ErrNoSession", err)
	}
	if _, err := newTestCookieStore(t, store.cfg).Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
		t.Errorf("cold Load after expiry = %v, want ErrNoSession", err)
	}
	if err := store.Save(httptest.NewRecorder(), requestWith(nil), s); err == nil {
		t.Error("Save of an expired session succeeded")
	}
}

func TestCookieStoreRotation(t *testing.T) {
	clock := newTestClock()
	oldSecret, newSecret := randomSecret(t), randomSecret(t)
	before := newTestCookieStore(t, testCookieConfig(t, clock, oldSecret))
	cs := saveCookies(t, before, nil, testSession(t, clock.Now(), 0, 100))

	rotated := newTestCookieStore(t, testCookieConfig(t, clock, newSecret, oldSecret))
	if _, err := rotated.Load(requestWith(cs)); err != nil {
		t.Errorf("Load after rotation with old secret listed: %v", err)
	}
	resealed := saveCookies(t, rotated, nil, testSession(t, clock.Now(), 0, 100))

	after := newTestCookieStore(t, testCookieConfig(t, clock, newSecret))
	if _, err := after.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load with old secret removed = %v, want ErrNoSession", err)
	}
	if _, err := after.Load(requestWith(resealed)); err != nil {
		t.Errorf("Load of a value sealed after rotation: %v", err)
	}
}

func TestCookieStoreCache(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 10, 500))
	if _, err := store.Load(requestWith(cs)); err != nil {
		t.Fatal(err)
	}
	if n := store.opens.Load(); n != 0 {
		t.Errorf("Load after Save decrypted %d times, want 0 (Save fills the cache)", n)
	}
	cold := newTestCookieStore(t, store.cfg)
	a, _ := cold.Load(requestWith(cs))
	b, err := cold.Load(requestWith(cs))
	if err != nil {
		t.Fatal(err)
	}
	if n := cold.opens.Load(); n != 1 {
		t.Errorf("two Loads decrypted %d times, want 1", n)
	}
	if a != b {
		t.Error("cache hit returned another *Session")
	}
	r := requestWith(cs)
	if allocs := testing.AllocsPerRun(100, func() { _, _ = cold.Load(r) }); allocs > 0 {
		t.Errorf("cached Load allocates %.0f times, want 0", allocs)
	}
}

func TestCookieStoreConcurrent(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	s := testSession(t, clock.Now(), 5, 100)
	cs := saveCookies(t, store, nil, s)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 10 {
				if got, err := loadFull(t, store, requestWith(cs)); err != nil || got.AccessToken != s.AccessToken {
					t.Errorf("Load = %v, %v", got, err)
					return
				}
				saveCookies(t, store, requestWith(cs), s)
			}
		})
	}
	wg.Wait()
}

func TestCookieCacheBounded(t *testing.T) {
	c := newOpenCache[*Session](3)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		c.put(k, &Session{ID: k})
	}
	if n := c.len(); n != 3 {
		t.Errorf("cache holds %d entries, want 3", n)
	}
	if v, ok := c.get("e"); !ok || v.ID != "e" {
		t.Errorf("latest entry = %v, %v", v, ok)
	}
}

func TestCookieAttributes(t *testing.T) {
	clock := newTestClock()
	for _, tc := range []struct {
		name   string
		mutate func(*CookieConfig)
		secure bool
		domain string
	}{
		{"__Host- on https", func(*CookieConfig) {}, true, ""},
		{"domain on http", func(c *CookieConfig) { c.Name, c.Secure, c.Domain = "portcullis", false, "example.com" }, false, "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testCookieConfig(t, clock)
			tc.mutate(&cfg)
			store := newTestCookieStore(t, cfg)
			s := testSession(t, clock.Now(), 0, 10)
			s.ExpiresAt = clock.Now().Add(90 * time.Minute)
			c := saveCookies(t, store, nil, s)[0]
			if c.Secure != tc.secure || c.Domain != tc.domain || c.Path != "/" || !c.HttpOnly ||
				c.SameSite != http.SameSiteLaxMode || c.MaxAge != 5400 {
				t.Errorf("cookie = %+v", c)
			}
		})
	}
	for _, tc := range []struct {
		name   string
		mutate func(*CookieConfig)
	}{
		{"__Host- without https", func(c *CookieConfig) { c.Secure = false }},
		{"__Host- with domain", func(c *CookieConfig) { c.Domain = "example.com" }},
		{"__Secure- without https", func(c *CookieConfig) { c.Name, c.Secure = "__Secure-p", false }},
		// Browsers apply the prefixes' rules in any case.
		{"__secure- without https", func(c *CookieConfig) { c.Name, c.Secure = "__secure-p", false }},
		{"__HOST- without https", func(c *CookieConfig) { c.Name, c.Secure = "__HOST-p", false }},
		{"__host- with domain", func(c *CookieConfig) { c.Name, c.Domain = "__host-p", "example.com" }},
		{"bad name", func(c *CookieConfig) { c.Name = "a b" }},
		{"no secrets", func(c *CookieConfig) { c.Secrets = nil }},
		{"weak secret", func(c *CookieConfig) { c.Secrets = [][]byte{make([]byte, 32)} }},
		{"no lifetime", func(c *CookieConfig) { c.Lifetime = 0 }},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			cfg := testCookieConfig(t, clock)
			tc.mutate(&cfg)
			if _, err := NewCookieStore(cfg); err == nil {
				t.Error("NewCookieStore accepted it")
			}
		})
	}
}

func TestCookieStoreDelete(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 7000))
	r := requestWith(append(cs, &http.Cookie{Name: "app", Value: "x"}))
	rec := httptest.NewRecorder()
	if err := store.Delete(rec, r); err != nil {
		t.Fatal(err)
	}
	var cleared []string
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 || !c.Secure || c.Path != "/" {
			t.Errorf("clearing cookie %+v", c)
		}
		cleared = append(cleared, c.Name)
	}
	want := []string{"__Host-portcullis", "__Host-portcullis_1", "__Host-portcullis_2"}
	if !reflect.DeepEqual(cleared, want) {
		t.Errorf("Delete cleared %v, want %v", cleared, want)
	}
}

func TestCookieStoreOwns(t *testing.T) {
	store := newTestCookieStore(t, testCookieConfig(t, newTestClock()))
	for name, want := range map[string]bool{
		"__Host-portcullis":              true,
		"__Host-portcullis_1":            true,
		"__Host-portcullis_12":           true,
		"__Host-portcullis_login_abcdef": true,
		"__Host-portcullis_0":            false,
		"__Host-portcullis_x":            false,
		"__Host-portcullis_":             false,
		"__Host-portcullisx":             false,
		// Without the prefix: a cookie of the name before the prefixed
		// one was chosen, or one planted over plain http: never opened,
		// but neither sent to the apps nor set by them.
		"portcullis":           true,
		"portcullis_1":         true,
		"portcullis_login_abc": true,
		"portcullisx":          false,
		"__Secure-portcullis":  false,
		"session":              false,
	} {
		if got := store.Owns(name); got != want {
			t.Errorf("Owns(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCookieStoreMetrics(t *testing.T) {
	clock := newTestClock()
	reg := prometheus.NewPedanticRegistry()
	store, err := NewCookieStore(testCookieConfig(t, clock), StoreOptions{Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	// A second store on the same registry (a reload) reuses the collectors.
	if _, err := NewCookieStore(store.cfg, StoreOptions{Metrics: reg}); err != nil {
		t.Fatalf("second store on one registry: %v", err)
	}
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 10))
	_, _ = store.Load(requestWith(cs))
	_, _ = store.Load(requestWith(nil))
	if n := histogramCount(t, reg, "load"); n != 2 {
		t.Errorf("load observations = %d, want 2", n)
	}
	if n := counterValue(t, reg, "portcullis_session_store_errors_total", "load"); n != 0 {
		t.Errorf("load errors = %v, want 0 (ErrNoSession is no store error)", n)
	}
}

// counterValue returns the value of counter name{op}.
func counterValue(tb testing.TB, reg prometheus.Gatherer, name, op string) float64 {
	tb.Helper()
	if m := findMetric(tb, reg, name, op); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

// histogramCount returns the sample count of the store duration histogram for op.
func histogramCount(tb testing.TB, reg prometheus.Gatherer, op string) uint64 {
	tb.Helper()
	if m := findMetric(tb, reg, "portcullis_session_store_duration_seconds", op); m != nil {
		return m.GetHistogram().GetSampleCount()
	}
	return 0
}

func findMetric(tb testing.TB, reg prometheus.Gatherer, name, op string) *dto.Metric {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return m
				}
			}
		}
	}
	return nil
}

func BenchmarkCookieLoadCached(b *testing.B) {
	clock := newTestClock()
	store := newTestCookieStore(b, testCookieConfig(b, clock))
	r := requestWith(saveCookies(b, store, nil, testSession(b, clock.Now(), 20, 900)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := store.Load(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCookieLoadCold(b *testing.B) {
	clock := newTestClock()
	store := newTestCookieStore(b, testCookieConfig(b, clock))
	r := requestWith(saveCookies(b, store, nil, testSession(b, clock.Now(), 20, 900)))
	sealed, _ := store.readSealed(r)
	b.ReportAllocs()
	for b.Loop() {
		store.cache.remove(sealed)
		if _, err := store.Load(r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCookieStoreLockIsNoOp: the cookie store's lock always acquires, for
// any id and however often, so the refresh path is the same for every store.
func TestCookieStoreLockIsNoOp(t *testing.T) {
	store, err := NewCookieStore(testCookieConfig(t, newTestClock()))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "", "x"} {
		unlock, acquired, err := store.Lock(context.Background(), id, time.Second)
		if err != nil || !acquired || unlock == nil {
			t.Fatalf("Lock(%q) = %v, %v", id, acquired, err)
		}
	}
}

// TestCookiesBoundToTheProvider: two gateways that share secrets and cookie
// name but sign in with different providers (or client_ids) open neither
// each other's sessions nor each other's login states.
func TestCookiesBoundToTheProvider(t *testing.T) {
	clock := newTestClock()
	a := testCookieConfig(t, clock)
	a.Binding = "https://idp-a.example client-a"
	b := a
	b.Binding = "https://idp-a.example client-b"
	cs := saveCookies(t, newTestCookieStore(t, a), nil, testSession(t, clock.Now(), 1, 100))
	if _, err := newTestCookieStore(t, b).Load(requestWith(cs)); err == nil {
		t.Error("a session sealed for client-a opened at a gateway of client-b")
	}
	if _, err := newTestCookieStore(t, a).Load(requestWith(cs)); err != nil {
		t.Errorf("the same binding does not open its own session: %v", err)
	}

	sa, err := NewStateCookies(a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := NewStateCookies(b)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := sa.Issue(rec, httptest.NewRequest("GET", "https://gw.example/", nil), &LoginState{State: "s1", Nonce: "n", Verifier: "v", ReturnURL: "/"}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "https://gw.example/oauth2/callback?state=s1", nil)
	for _, c := range rec.Result().Cookies() {
		req.AddCookie(c)
	}
	if _, err := sb.Take(httptest.NewRecorder(), req, "s1"); err == nil {
		t.Error("a login state issued for client-a was accepted by a gateway of client-b")
	}
	if _, err := sa.Take(httptest.NewRecorder(), req, "s1"); err != nil {
		t.Errorf("the issuing gateway does not accept its own login state: %v", err)
	}
}

// TestCookieStoreChunkCountCostsNothing: the count in chunk 0 is the
// client's word. A forged one ("10:x" without its chunks) must not make the
// gateway reserve room for ten chunks (38 KB) on every request before it
// finds a chunk missing; a complete value is reassembled in one allocation
// of its own size.
func TestCookieStoreChunkCountCostsNothing(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	name := store.cfg.Name
	forged := requestWith([]*http.Cookie{{Name: name, Value: "10:x"}, {Name: name + "_1", Value: "y"}})
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := store.readSealed(forged); ok {
			t.Fatal("a value with missing chunks was read")
		}
	}); n != 0 {
		t.Errorf("reading a forged chunk count allocates %v times, want 0", n)
	}

	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 7000))
	whole := requestWith(cs)
	var want int
	for _, c := range cs {
		want += len(c.Value)
	}
	want -= len("3:")
	var got string
	if n := testing.AllocsPerRun(100, func() { got, _ = store.readSealed(whole) }); n != 1 {
		t.Errorf("reassembling three chunks allocates %v times, want 1", n)
	}
	if len(got) != want {
		t.Errorf("reassembled %d bytes, want %d", len(got), want)
	}
	var m1, m2 runtime.MemStats
	runtime.ReadMemStats(&m1)
	for range 100 {
		got, _ = store.readSealed(whole)
	}
	runtime.ReadMemStats(&m2)
	if per := (m2.TotalAlloc - m1.TotalAlloc) / 100; per > uint64(want)+512 {
		t.Errorf("reassembling %d bytes allocates %d bytes", want, per)
	}
}

// TestCookieStoreExpiriesAreBounded: Delete (at every login start, sign-out
// and callback) and Save expired every session-cookie or chunk name the
// request carried, duplicates and any index included, so a 16 KiB Cookie
// header of empty __Host-portcullis_1= cookies drew over a thousand
// Set-Cookie lines. A name is expired once, and only chunks the store can
// have written (below maxChunks).
func TestCookieStoreExpiriesAreBounded(t *testing.T) {
	clock := newTestClock()
	store := newTestCookieStore(t, testCookieConfig(t, clock))
	for _, tc := range []struct {
		name   string
		cookie func(i int) string
	}{
		{"one chunk repeated", func(int) string { return "__Host-portcullis_1=" }},
		{"base repeated", func(int) string { return "__Host-portcullis=" }},
		{"every index", func(i int) string { return fmt.Sprintf("__Host-portcullis_%d=", i+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := requestWith(nil)
			r.Header.Set("Cookie", fullCookieHeader(tc.cookie))
			for op, run := range map[string]func(http.ResponseWriter) error{
				"Delete": func(w http.ResponseWriter) error { return store.Delete(w, r) },
				"Save":   func(w http.ResponseWriter) error { return store.Save(w, r, testSession(t, clock.Now(), 0, 100)) },
			} {
				rec := httptest.NewRecorder()
				if err := run(rec); err != nil {
					t.Fatal(err)
				}
				expiries := map[string]int{}
				for _, c := range rec.Result().Cookies() {
					if c.MaxAge < 0 {
						expiries[c.Name]++
					}
				}
				if len(expiries) > maxChunks {
					t.Errorf("%s expired %d names", op, len(expiries))
				}
				for name, n := range expiries {
					if n > 1 {
						t.Errorf("%s expired %s %d times", op, name, n)
					}
				}
			}
		})
	}
}

// TestCookieStoreKeepsUserinfoClaimsKnown: a userinfo that stated no claim
// but sub records an empty, known list (Identity.UserinfoClaims), unlike a
// session that has no record (nil). JSON's omitempty wrote both as nothing,
// so the empty list came back nil, and a refresh with userinfo down filled
// every claim the refreshed ID token left out (a groups claim only the ID
// token ever stated) from the sign-in.
func TestCookieStoreKeepsUserinfoClaimsKnown(t *testing.T) {
	for _, names := range [][]string{nil, {}, {"email"}} {
		clock := newTestClock()
		store := newTestCookieStore(t, testCookieConfig(t, clock))
		want := testSession(t, clock.Now(), 1, 100)
		want.Identity.UserinfoClaims = names
		other := newTestCookieStore(t, store.cfg)
		got, err := loadFull(t, other, requestWith(saveCookies(t, store, nil, want)))
		if err != nil {
			t.Fatal(err)
		}
		if u := got.Identity.UserinfoClaims; (u == nil) != (names == nil) || !slices.Equal(u, names) {
			t.Errorf("UserinfoClaims %#v came back %#v", names, u)
		}
	}
}
