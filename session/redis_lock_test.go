package session

import (
	"context"
	"testing"
	"time"
)

func TestRedisStoreLock(t *testing.T) {
	store, raw, _, _ := newTestRedisStore(t, newTestClock())
	ctx := context.Background()
	unlock, ok, err := store.Lock(ctx, "session-1", 5*time.Second)
	if err != nil || !ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	if _, ok, err := store.Lock(ctx, "session-1", 5*time.Second); err != nil || ok {
		t.Errorf("second Lock = %v, %v; want not acquired", ok, err)
	}
	if _, ok, _ := store.Lock(ctx, "session-2", 5*time.Second); !ok {
		t.Error("Lock of another session not acquired")
	}
	// A lock that expired and was taken by someone else is not released by
	// the first holder's unlock.
	key := lockKeyPrefix + idHash("session-1")
	raw.Set(ctx, key, "someone-else", time.Minute)
	unlock()
	if v := raw.Get(ctx, key).Val(); v != "someone-else" {
		t.Errorf("unlock removed another holder's lock (value %q)", v)
	}
	raw.Del(ctx, key)
	unlock2, ok, err := store.Lock(ctx, "session-1", 5*time.Second)
	if err != nil || !ok {
		t.Fatalf("Lock after release = %v, %v", ok, err)
	}
	unlock2()
	if n := raw.Exists(ctx, key).Val(); n != 0 {
		t.Error("unlock left the lock")
	}
}

// TestRedisStoreFirstUse: a key is first used once across every store on
// the same Redis, and its marker expires.
func TestRedisStoreFirstUse(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	other, err := store.WithCookie(testCookieConfig(t, clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if first, err := store.FirstUse(ctx, "jti-1", time.Minute); err != nil || !first {
		t.Fatalf("first use = %v, %v", first, err)
	}
	if first, err := other.FirstUse(ctx, "jti-1", time.Minute); err != nil || first {
		t.Errorf("second use from another store = %v, %v; want false", first, err)
	}
	if first, _ := store.FirstUse(ctx, "jti-2", time.Minute); !first {
		t.Error("another key is not a first use")
	}
	if ttl := raw.PTTL(ctx, onceKeyPrefix+idHash("jti-1")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("marker TTL = %v", ttl)
	}
	// Used reads what any store recorded, without recording.
	if used, err := other.Used(ctx, "jti-1"); err != nil || !used {
		t.Errorf("Used(jti-1) = %v, %v; want true", used, err)
	}
	if used, err := other.Used(ctx, "jti-3"); err != nil || used {
		t.Errorf("Used(jti-3) = %v, %v; want false", used, err)
	}
	if first, _ := store.FirstUse(ctx, "jti-3", time.Minute); !first {
		t.Error("Used recorded the key")
	}
}
