package session

import (
	"context"
	"errors"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// startRedisArgs runs a throw-away redis-server with extra arguments.
func startRedisArgs(tb testing.TB, extra ...string) int {
	tb.Helper()
	bin := testenv.LookPath(tb, "redis-server")
	port := testenv.FreePort(tb)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
	p := testenv.Start(tb, exec.Command(bin, args...))
	testenv.WaitTCP(tb, testenv.Addr(port), 10*time.Second, p)
	return port
}

// TestEvictingRedisIsNotReady: under memory pressure an evicting Redis
// (maxmemory with an LRU policy such as volatile-lru, the default of several
// managed offerings; every key the store writes has a TTL) drops the coldest
// keys first: the index sets, written once at login, long before the
// sessions read on every request. Back-channel logout and `sessions revoke
// --sub` would then end nothing and report success. The store's readiness
// check refuses such a Redis, and accepts one that never evicts.
func TestEvictingRedisIsNotReady(t *testing.T) {
	clock := newTestClock()
	ping := func(extra ...string) error {
		port := startRedisArgs(t, extra...)
		store, err := NewRedisStore(RedisConfig{URL: "redis://" + testenv.Addr(port) + "/0"}, testCookieConfig(t, clock))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		return store.Ping(context.Background())
	}
	for _, policy := range []string{"volatile-lru", "allkeys-lru", "volatile-ttl"} {
		if err := ping("--maxmemory", "4mb", "--maxmemory-policy", policy); !errors.Is(err, ErrEvicting) {
			t.Errorf("maxmemory-policy %s: Ping = %v, want ErrEvicting", policy, err)
		}
	}
	if err := ping("--maxmemory", "4mb", "--maxmemory-policy", "noeviction"); err != nil {
		t.Errorf("noeviction: Ping = %v, want ready", err)
	}
	if err := ping("--maxmemory-policy", "volatile-lru"); err != nil {
		t.Errorf("no maxmemory: Ping = %v, want ready", err)
	}
}
