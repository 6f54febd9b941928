package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestDeadClusterReplicaKeepsReady: a Redis Cluster serves on when a
// replica goes down (its master holds every key of its slots), but the
// readiness check that reads every node's eviction policy failed on the
// replica it could not reach: /readyz answered 503 on every gateway at
// once, and a load balancer or Kubernetes took them all out of service,
// until the Cluster marked the replica failed and the client's view of it
// was reloaded. An unreachable replica is no reason to stop serving; a
// master that cannot be reached, or any node that evicts (a replica
// included, checked here before it goes down), still is.
func TestDeadClusterReplicaKeepsReady(t *testing.T) {
	// A full resync writes an RDB file: in a directory of the test's own,
	// not the package's.
	master, _ := startClusterNode(t, 0, 16383, "--dir", t.TempDir())
	bus := strconv.Itoa(testenv.FreePort(t))
	replica, proc := testenv.StartRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", t.TempDir()+"/nodes.conf",
		"--cluster-port", bus, "--dir", t.TempDir())
	meet(t, master, replica, bus)
	replicate(t, master, replica)
	store, err := NewRedisStore(RedisConfig{ClusterAddrs: []string{master}}, testCookieConfig(t, newTestClock()))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Ping(context.Background()); err != nil {
		t.Fatalf("a Cluster with its replica: Ping = %v", err)
	}
	setPolicy(t, replica, "allkeys-lru")
	if err := store.Ping(context.Background()); !errors.Is(err, ErrEvicting) {
		t.Errorf("an evicting replica: Ping = %v, want ErrEvicting", err)
	}
	setPolicy(t, replica, "noeviction")
	proc.Stop()
	if err := store.Ping(context.Background()); err != nil {
		t.Errorf("the replica %s down, its master serving every slot: Ping = %v, want ready", replica, err)
	}
}

// setPolicy sets the Redis at addr's maxmemory-policy, under a maxmemory.
func setPolicy(t *testing.T, addr, policy string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for k, v := range map[string]string{"maxmemory": "64mb", "maxmemory-policy": policy} {
		if err := c.ConfigSet(context.Background(), k, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// replicate makes the Cluster node at replica a replica of master's and
// waits until master lists it as serving its slots (CLUSTER SLOTS), as a
// client that reads the Cluster's layout sees it.
func replicate(t *testing.T, master, replica string) {
	t.Helper()
	ctx := context.Background()
	cm := redis.NewClient(&redis.Options{Addr: master})
	defer cm.Close()
	cr := redis.NewClient(&redis.Options{Addr: replica})
	defer cr.Close()
	id, err := cm.Do(ctx, "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.Do(ctx, "CLUSTER", "REPLICATE", id).Err(); err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(replica, ":")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		slots, _ := cm.ClusterSlots(ctx).Result()
		for _, s := range slots {
			for _, n := range s.Nodes[1:] {
				if strings.HasSuffix(n.Addr, ":"+port) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("master %s does not list replica %s: %v", master, replica, slots)
		}
	}
}
