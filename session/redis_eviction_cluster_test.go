package session

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/testenv"
)

// startClusterNode runs a real Redis Cluster node serving the slots from
// first to last, with extra arguments (a node's own maxmemory-policy), and
// returns its address and its Cluster bus port (chosen: by default it is
// the port + 10000, which may be taken or past 65535).
func startClusterNode(t *testing.T, first, last int, extra ...string) (addr, bus string) {
	t.Helper()
	bus = strconv.Itoa(testenv.FreePort(t))
	args := append([]string{"--cluster-enabled", "yes", "--cluster-config-file", t.TempDir() + "/nodes.conf",
		"--cluster-port", bus}, extra...)
	addr, _ = testenv.StartRedis(t, args...)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	err := c.Do(context.Background(), "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(first), strconv.Itoa(last)).Err()
	if err != nil {
		t.Fatal(err)
	}
	return addr, bus
}

// TestEvictingClusterNodeIsNotReady: in a Redis Cluster every master holds
// its own share of the keys (index sets, logout markers, sessions) and
// evicts by its own maxmemory-policy. The readiness check read INFO from
// one node only, so a Cluster whose other master evicts was ready, and the
// users whose index sets that master dropped were not ended by a
// back-channel logout that answered 200. Every node is checked now.
func TestEvictingClusterNodeIsNotReady(t *testing.T) {
	for _, evicting := range []int{0, 1} {
		t.Run("node"+strconv.Itoa(evicting), func(t *testing.T) {
			policy := [2]string{"noeviction", "noeviction"}
			policy[evicting] = "allkeys-lru"
			a, _ := startClusterNode(t, 0, 8191, "--maxmemory", "64mb", "--maxmemory-policy", policy[0])
			b, busB := startClusterNode(t, 8192, 16383, "--maxmemory", "64mb", "--maxmemory-policy", policy[1])
			meet(t, a, b, busB)
			store, err := NewRedisStore(RedisConfig{ClusterAddrs: []string{a}}, testCookieConfig(t, newTestClock()))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			for i := range 10 {
				if err := store.Ping(context.Background()); !errors.Is(err, ErrEvicting) {
					t.Fatalf("check %d: Ping = %v, want ErrEvicting (node %s evicts)", i, err, [2]string{a, b}[evicting])
				}
			}
		})
	}
}

// meet joins the Cluster node at b (bus port busB) to a's and waits until
// the Cluster is ok.
func meet(t *testing.T, a, b, busB string) {
	t.Helper()
	ca := redis.NewClient(&redis.Options{Addr: a})
	defer ca.Close()
	host, port, _ := net.SplitHostPort(b)
	if err := ca.Do(context.Background(), "CLUSTER", "MEET", host, port, busB).Err(); err != nil {
		t.Fatal(err)
	}
	waitClusterOK(t, a, b)
}

// waitClusterOK waits until every node knows every other and says the
// Cluster is ok.
func waitClusterOK(t *testing.T, addrs ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		for {
			info, _ := c.ClusterInfo(context.Background()).Result()
			nodes, _ := c.ClusterNodes(context.Background()).Result()
			if strings.Contains(info, "cluster_state:ok") && strings.Count(strings.TrimSpace(nodes), "\n")+1 == len(addrs) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the Cluster is not ok at %s: %s", addr, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
