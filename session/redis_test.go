package session

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// startRedis runs a throw-away redis-server on port (a free one when 0).
func startRedis(tb testing.TB, port int) (*testenv.Process, int) {
	tb.Helper()
	bin := testenv.LookPath(tb, "redis-server")
	if port == 0 {
		port = testenv.FreePort(tb)
	}
	p := testenv.Start(tb, exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"))
	testenv.WaitTCP(tb, testenv.Addr(port), 10*time.Second, p)
	return p, port
}

// anotherReplica is a store on the Redis behind raw with store's cookie
// settings (and opts): another replica of the gateway, which has opened
// none of the sessions. It is closed when the test ends.
func anotherReplica(tb testing.TB, raw *redis.Client, store *RedisStore, opts ...StoreOptions) *RedisStore {
	tb.Helper()
	other, err := NewRedisStore(RedisConfig{URL: "redis://" + raw.Options().Addr}, store.cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { other.Close() })
	return other
}

// newTestRedisStore starts Redis and a store on it; raw is a plain client
// for inspecting what the store wrote.
func newTestRedisStore(tb testing.TB, clock *testClock, opts ...StoreOptions) (*RedisStore, *redis.Client, *testenv.Process, int) {
	tb.Helper()
	p, port := startRedis(tb, 0)
	url := "redis://" + testenv.Addr(port) + "/0"
	store, err := NewRedisStore(RedisConfig{URL: url}, testCookieConfig(tb, clock), opts...)
	if err != nil {
		tb.Fatalf("NewRedisStore: %v", err)
	}
	tb.Cleanup(func() { store.Close() })
	raw := redis.NewClient(&redis.Options{Addr: testenv.Addr(port)})
	tb.Cleanup(func() { raw.Close() })
	return store, raw, p, port
}

func TestRedisStoreLifecycle(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	want := testSession(t, clock.Now(), 5, 300)
	cs := saveCookies(t, store, nil, want)
	if len(cs) != 1 || cs[0].Name != "__Host-portcullis" || cs[0].MaxAge != 12*3600 || !cs[0].HttpOnly {
		t.Fatalf("Save set %+v", cs)
	}
	if want.ID != "" {
		t.Error("Save changed the caller's session")
	}

	got, err := loadFull(t, store, requestWith(cs))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(got.ID) != 43 || got.AccessToken != want.AccessToken || got.Identity.Subject != "user-1" {
		t.Errorf("Load = %+v", got)
	}
	key := sessionKey(got.ID)
	if ttl := raw.PTTL(ctx, key).Val(); ttl < 12*time.Hour-time.Minute || ttl > 12*time.Hour {
		t.Errorf("TTL = %v, want about 12h", ttl)
	}

	// A cold store (another replica) reads the same session.
	other := anotherReplica(t, raw, store)
	if g, err := other.Load(requestWith(cs)); err != nil || g.ID != got.ID {
		t.Fatalf("Load on another replica = %v, %v", g, err)
	}
	// What userinfo stated decides what the next refresh keeps.
	g, err := loadFull(t, other, requestWith(cs))
	if err != nil {
		t.Fatalf("Full on another replica: %v", err)
	}
	if !slices.Equal(g.Identity.UserinfoClaims, want.Identity.UserinfoClaims) {
		t.Errorf("the names userinfo stated, on another replica = %q, want %q", g.Identity.UserinfoClaims, want.Identity.UserinfoClaims)
	}

	// Refresh: update in place; the remaining TTL stays.
	clock.Advance(time.Hour)
	refreshed := got.Clone()
	refreshed.AccessToken = "at-refreshed"
	if err := store.Save(httptest.NewRecorder(), requestWith(cs), refreshed); err != nil {
		t.Fatalf("Save (update): %v", err)
	}
	for name, s := range map[string]*RedisStore{"same replica": store, "other replica": other} {
		if g, err := loadFull(t, s, requestWith(cs)); err != nil || g.AccessToken != "at-refreshed" {
			t.Errorf("%s: Load after update = %v, %v", name, g, err)
		}
	}
	if ttl := raw.PTTL(ctx, key).Val(); ttl > 11*time.Hour {
		t.Errorf("TTL after update = %v, want about 11h", ttl)
	}

	// Delete ends every copy of the cookie.
	rec := httptest.NewRecorder()
	if err := store.Delete(rec, requestWith(cs)); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if c := cookieNamed(rec.Result().Cookies(), "__Host-portcullis"); c == nil || c.MaxAge >= 0 {
		t.Errorf("Delete did not clear the cookie: %+v", rec.Result().Cookies())
	}
	for name, s := range map[string]*RedisStore{"same replica": store, "other replica": other} {
		if _, err := s.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
			t.Errorf("%s: Load after Delete = %v, want ErrNoSession", name, err)
		}
	}
	// A refresh racing with the sign-out must not bring the session back.
	if err := store.Save(httptest.NewRecorder(), requestWith(cs), refreshed); !errors.Is(err, ErrNoSession) {
		t.Errorf("update of a deleted session = %v, want ErrNoSession", err)
	}
	if n := raw.Exists(ctx, key).Val(); n != 0 {
		t.Error("update recreated a deleted session")
	}
}

func TestRedisStoreRefuses(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	s := testSession(t, clock.Now(), 0, 10)
	s.ExpiresAt = clock.Now().Add(time.Hour)
	cs := saveCookies(t, store, nil, s)
	flipped := []byte(cs[0].Value)
	flipped[30] ^= 1
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
		before  func()
	}{
		{"no cookie", nil, nil},
		{"tampered cookie", []*http.Cookie{{Name: cs[0].Name, Value: string(flipped)}}, nil},
		{"expired by the clock", cs, func() { clock.Advance(time.Hour) }},
		{"gone from Redis", cs, func() { raw.FlushAll(context.Background()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			if _, err := store.Load(requestWith(tc.cookies)); !errors.Is(err, ErrNoSession) {
				t.Errorf("Load = %v, want ErrNoSession", err)
			}
		})
	}
}

func TestRedisStoreContentsRevealNoTokens(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	s := testSession(t, clock.Now(), 3, 200)
	cs := saveCookies(t, store, nil, s)
	loaded, err := store.Load(requestWith(cs))
	if err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, k := range raw.Keys(ctx, "*").Val() {
		dump.WriteString(k + "\n")
		switch raw.Type(ctx, k).Val() {
		case "string":
			dump.WriteString(raw.Get(ctx, k).Val())
		case "set":
			dump.WriteString(strings.Join(raw.SMembers(ctx, k).Val(), "\n"))
		}
	}
	for name, secret := range map[string]string{
		"access token": s.AccessToken, "refresh token": s.RefreshToken, "ID token": s.IDToken,
		"email": s.Identity.Email, "session id": loaded.ID, "cookie": cs[0].Value,
	} {
		if strings.Contains(dump.String(), secret) {
			t.Errorf("Redis holds the %s in plain text", name)
		}
	}
}

func TestRedisStoreIndexes(t *testing.T) {
	clock := newTestClock()
	store, _, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	const iss = "https://idp.example.com"
	login := func(sub, sid string) *http.Request {
		s := testSession(t, clock.Now(), 0, 10)
		s.Identity.Subject, s.Identity.ProviderSubject, s.Identity.SessionID = sub, sub, sid
		clock.Advance(time.Second)
		return requestWith(saveCookies(t, store, nil, s))
	}
	ada1, ada2, bob, carl := login("ada", "sid-a1"), login("ada", "sid-a2"), login("bob", "sid-b"), login("carl", "sid-b")
	alive := func(r *http.Request) bool { _, err := store.Load(r); return err == nil }

	infos, err := store.List(ctx, iss, "")
	if err != nil || len(infos) != 4 {
		t.Fatalf("List all = %d infos, %v", len(infos), err)
	}
	adas, err := store.List(ctx, iss, "ada")
	if err != nil || len(adas) != 2 || adas[0].Subject != "ada" || adas[0].ProviderSubject != "ada" || adas[0].Email != "ada@example.com" ||
		len(adas[0].ID) != 64 || !adas[0].CreatedAt.Before(adas[1].CreatedAt) {
		t.Fatalf("List(ada) = %+v, %v", adas, err)
	}

	if n, err := store.DeleteBySubject(ctx, iss, "ada"); err != nil || n != 2 {
		t.Errorf("DeleteBySubject(ada) = %d, %v; want 2", n, err)
	}
	if alive(ada1) || alive(ada2) || !alive(bob) || !alive(carl) {
		t.Error("DeleteBySubject ended the wrong sessions")
	}
	if n, err := store.DeleteBySID(ctx, iss, "sid-b"); err != nil || n != 2 {
		t.Errorf("DeleteBySID(sid-b) = %d, %v; want 2", n, err)
	}
	if alive(bob) || alive(carl) {
		t.Error("DeleteBySID left a session")
	}
	if n, err := store.DeleteBySubject(ctx, iss, "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteBySubject(nobody) = %d, %v", n, err)
	}

	dan := login("dan", "")
	infos, _ = store.List(ctx, iss, "dan")
	if len(infos) != 1 {
		t.Fatalf("List(dan) = %+v", infos)
	}
	if err := store.DeleteByID(ctx, infos[0].ID); err != nil || alive(dan) {
		t.Errorf("DeleteByID = %v, alive %v", err, alive(dan))
	}
	if err := store.DeleteByID(ctx, infos[0].ID); !errors.Is(err, ErrNoSession) {
		t.Errorf("second DeleteByID = %v, want ErrNoSession", err)
	}
	if err := store.DeleteByID(ctx, "not-an-id"); err == nil {
		t.Error("DeleteByID accepted a malformed id")
	}

	e1, e2 := login("eve", "x"), login("fay", "")
	if n, err := store.DeleteAll(ctx); err != nil || n != 2 || alive(e1) || alive(e2) {
		t.Errorf("DeleteAll = %d, %v", n, err)
	}
}

func TestRedisStoreDownAndRecovery(t *testing.T) {
	clock := newTestClock()
	reg := prometheus.NewPedanticRegistry()
	store, _, p, port := newTestRedisStore(t, clock, StoreOptions{Metrics: reg})
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 10))
	if _, err := store.Load(requestWith(cs)); err != nil {
		t.Fatal(err)
	}
	if n := activeSessions(t, reg); n != 1 {
		t.Errorf("active sessions = %v, want 1", n)
	}

	p.Stop()
	start := time.Now()
	_, err := store.Load(requestWith(cs))
	if err == nil || errors.Is(err, ErrNoSession) {
		t.Fatalf("Load with Redis down = %v, want a store error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Load with Redis down took %v", d)
	}
	if err := store.Save(httptest.NewRecorder(), nil, testSession(t, clock.Now(), 0, 10)); err == nil || errors.Is(err, ErrNoSession) {
		t.Errorf("Save with Redis down = %v, want a store error", err)
	}
	if err := store.Ping(context.Background()); err == nil {
		t.Error("Ping with Redis down succeeded")
	}
	if n := counterValue(t, reg, "portcullis_session_store_errors_total", "load"); n != 1 {
		t.Errorf("load errors = %v, want 1", n)
	}

	startRedis(t, port)
	if err := store.Ping(context.Background()); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	// The restarted Redis kept nothing: the old session is simply gone.
	if _, err := store.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load of a lost session = %v, want ErrNoSession", err)
	}
	cs = saveCookies(t, store, nil, testSession(t, clock.Now(), 0, 10))
	if _, err := store.Load(requestWith(cs)); err != nil {
		t.Errorf("Load after recovery: %v", err)
	}
}

func activeSessions(tb testing.TB, reg prometheus.Gatherer) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "portcullis_active_sessions" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	tb.Fatal("portcullis_active_sessions not registered")
	return 0
}

func TestNewRedisClientConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  RedisConfig
		ok   bool
	}{
		{"url", RedisConfig{URL: "redis://127.0.0.1:6379/0"}, true},
		{"tls url", RedisConfig{URL: "rediss://user:pw@127.0.0.1:6380/1"}, true},
		{"cluster", RedisConfig{ClusterAddrs: []string{"127.0.0.1:7000"}}, true},
		{"sentinel", RedisConfig{SentinelAddrs: []string{"127.0.0.1:26379"}, SentinelMaster: "m"}, true},
		{"nothing", RedisConfig{}, false},
		{"two kinds", RedisConfig{URL: "redis://x", ClusterAddrs: []string{"y:1"}}, false},
		{"sentinel without master", RedisConfig{SentinelAddrs: []string{"127.0.0.1:26379"}}, false},
		{"bad scheme", RedisConfig{URL: "http://127.0.0.1"}, false},
		{"CA with a plain-text url", RedisConfig{URL: "redis://127.0.0.1", RootCAs: x509.NewCertPool()}, false},
		{"CA with a TLS url", RedisConfig{URL: "rediss://127.0.0.1", RootCAs: x509.NewCertPool()}, true},
		{"CA with a cluster", RedisConfig{ClusterAddrs: []string{"127.0.0.1:7000"}, RootCAs: x509.NewCertPool()}, true},
		{"skip_verify", RedisConfig{URL: "rediss://127.0.0.1:6380/0?skip_verify=true"}, false},
		{"skip_verify with a CA", RedisConfig{URL: "rediss://127.0.0.1:6380/0?skip_verify=true", RootCAs: x509.NewCertPool()}, false},
		{"skip_verify=false", RedisConfig{URL: "rediss://127.0.0.1:6380/0?skip_verify=false"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newRedisClient(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("newRedisClient = %v, want ok %v", err, tc.ok)
			}
			if c != nil {
				c.Close()
			}
		})
	}
}

func BenchmarkRedisLoad(b *testing.B) {
	clock := newTestClock()
	store, _, _, _ := newTestRedisStore(b, clock)
	r := requestWith(saveCookies(b, store, nil, testSession(b, clock.Now(), 20, 900)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Load(r); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRedisStoreWithCookie rotates secrets on the same connection, as a
// reload does: [new, old] still opens the old session, [new] alone does not.
func TestRedisStoreWithCookie(t *testing.T) {
	clock := newTestClock()
	store, _, _, _ := newTestRedisStore(t, clock)
	old := saveCookies(t, store, nil, testSession(t, clock.Now(), 1, 10))

	newSecret := randomSecret(t)
	rotated, err := store.WithCookie(testCookieConfig(t, clock, newSecret, store.cfg.Secrets[0]))
	if err != nil {
		t.Fatal(err)
	}
	if rotated.client != store.client {
		t.Error("WithCookie opened another Redis connection")
	}
	if _, err := rotated.Load(requestWith(old)); err != nil {
		t.Errorf("the old session with [new, old] secrets: %v", err)
	}
	fresh := saveCookies(t, rotated, nil, testSession(t, clock.Now(), 1, 10))

	only, err := store.WithCookie(testCookieConfig(t, clock, newSecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := only.Load(requestWith(old)); !errors.Is(err, ErrNoSession) {
		t.Errorf("the old session with only the new secret: %v, want ErrNoSession", err)
	}
	if _, err := only.Load(requestWith(fresh)); err != nil {
		t.Errorf("a session sealed with the new secret: %v", err)
	}
}

// TestRedisStoreCachedLoadReadsOnlyTheTag: once a replica has opened a
// session, each further Load asks Redis for the value's tag only
// (GETRANGE), not the whole sealed session (GET), and still sees a change
// made by another replica at once.
func TestRedisStoreCachedLoadReadsOnlyTheTag(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	cs := saveCookies(t, store, nil, testSession(t, clock.Now(), 5, 300))
	other := anotherReplica(t, raw, store)
	first, err := loadFull(t, other, requestWith(cs))
	if err != nil {
		t.Fatal(err)
	}
	raw.ConfigResetStat(ctx)
	for i := 0; i < 5; i++ {
		if _, err := other.Load(requestWith(cs)); err != nil {
			t.Fatal(err)
		}
	}
	stats := raw.Info(ctx, "commandstats").Val()
	if !strings.Contains(stats, "cmdstat_getrange:calls=5,") || strings.Contains(stats, "cmdstat_get:") {
		t.Errorf("five cached Loads sent:\n%s", stats)
	}

	refreshed := first.Clone()
	refreshed.AccessToken = "at-from-the-other-replica"
	if err := store.Save(httptest.NewRecorder(), requestWith(cs), refreshed); err != nil {
		t.Fatal(err)
	}
	if g, err := loadFull(t, other, requestWith(cs)); err != nil || g.AccessToken != "at-from-the-other-replica" {
		t.Errorf("Load after another replica's update = %v, %v", g, err)
	}
	if err := raw.Del(ctx, sessionKey(first.ID)).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Load(requestWith(cs)); !errors.Is(err, ErrNoSession) {
		t.Errorf("Load after the key was deleted = %v, want ErrNoSession", err)
	}
}

// TestSentinelDownFailsFast: the Sentinel client was built without the
// dial retries the standalone and Cluster clients take (redisDialRetries
// 20 ms apart), so go-redis's 5 retries 100 ms apart applied to each
// Sentinel: with every Sentinel down a call ran out its whole bound
// (context deadline exceeded after redisCallTimeout) instead of failing
// with the refused dial at once.
func TestSentinelDownFailsFast(t *testing.T) {
	// No Sentinel listens there. A port of the kernel's own range, closed
	// again, could be handed to another test's ":0" listener meanwhile;
	// FreePort's is claimed for this test alone.
	addr := testenv.Addr(testenv.FreePort(t))
	c, err := newRedisClient(RedisConfig{SentinelAddrs: []string{addr}, SentinelMaster: "m"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Ping(context.Background()).Err()
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Ping with every Sentinel down = %v, want the refused dial before the call's bound", err)
	}
}

// TestRedisWriterCannotSwapSessions plays a writer of the Redis database
// without the secrets: Bob's sealed session copied over the key of
// Alice's never opens for Alice's cookie as Bob's session, though the
// replica has hers in its cache (the changed value is read again); the
// seal is bound to its key, so her cookie then opens nothing.
func TestRedisWriterCannotSwapSessions(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	alice, bob := testSession(t, clock.Now(), 0, 10), testSession(t, clock.Now(), 0, 10)
	bob.Identity.Subject, bob.Identity.Email = "user-2", "bob@example.com"
	aliceCookies, bobCookies := saveCookies(t, store, nil, alice), saveCookies(t, store, nil, bob)
	a, err := store.Load(requestWith(aliceCookies))
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.Load(requestWith(bobCookies))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Copy(ctx, sessionKey(b.ID), sessionKey(a.ID), 0, true).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(requestWith(aliceCookies))
	if !errors.Is(err, ErrNoSession) {
		t.Fatalf("Alice's cookie over Bob's value: %v (subject %q), want ErrNoSession", err, subjectOf(got))
	}
}

func subjectOf(s *Session) string {
	if s == nil {
		return ""
	}
	return s.Identity.Subject
}
