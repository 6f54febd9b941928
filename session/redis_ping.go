package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Ping checks that Redis answers, for /readyz, and that it does not evict
// keys: an evicting Redis (maxmemory with a policy other than noeviction)
// drops the coldest keys first, which are the index sets (written once at
// login) and the back-channel replay markers, long before the sessions read
// on every request; back-channel logout and `sessions revoke --sub` would
// then report success and end nothing.
//
// A Cluster is checked node by node, replicas included: each master holds
// its own share of the keys and evicts by its own maxmemory-policy, and a
// replica by its own once it is promoted. INFO sent through the Cluster
// client reached one node only, so one evicting master left the gateway
// ready. A replica that cannot be reached is passed over: the Cluster
// serves on without it, and failing every gateway's readiness at once for
// it took them all out of service until the Cluster marked it failed.
func (s *RedisStore) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("session: redis ping: %w", err)
	}
	c, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return evicting(ctx, s.client)
	}
	if err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		return clusterNodeErr(evicting(ctx, node), node)
	}); err != nil {
		return err
	}
	return c.ForEachSlave(ctx, func(ctx context.Context, node *redis.Client) error {
		if err := evicting(ctx, node); errors.Is(err, ErrEvicting) {
			return clusterNodeErr(err, node)
		}
		return nil // down or unreachable: its master holds the keys
	})
}

// clusterNodeErr names the Cluster node an error of Ping's came from.
func clusterNodeErr(err error, node *redis.Client) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w (Cluster node %s)", err, node.Options().Addr)
}

// evicting reads one Redis's maxmemory and maxmemory-policy from INFO and
// returns ErrEvicting when it evicts keys.
func evicting(ctx context.Context, c redis.Cmdable) error {
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return nil // INFO disabled (some managed offerings): cannot check
		}
		return fmt.Errorf("session: redis ping: %w", err)
	}
	var maxmemory, policy string
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "maxmemory":
			maxmemory = v
		case "maxmemory_policy":
			policy = v
		}
	}
	if maxmemory != "" && maxmemory != "0" && policy != "" && policy != "noeviction" {
		return fmt.Errorf("%w (maxmemory-policy %s): sessions could not be revoked reliably; set maxmemory-policy noeviction", ErrEvicting, policy)
	}
	return nil
}
