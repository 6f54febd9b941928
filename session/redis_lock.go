package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Lock takes a short lock named after session id (SET NX PX with a random
// token), so that one replica refreshes a session while the others wait and
// reload it. unlock releases it only if it is still ours (compare and delete
// in one Lua script); a crashed holder's lock expires after ttl.
func (s *RedisStore) Lock(ctx context.Context, id string, ttl time.Duration) (unlock func(), acquired bool, err error) {
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return nil, false, fmt.Errorf("session: lock: %w", err)
	}
	token := hex.EncodeToString(tok)
	key := lockKeyPrefix + idHash(id)
	ok, err := s.client.SetNX(ctx, key, token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("session: redis lock: %w", err)
	}
	if !ok {
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisIOTimeout)
			defer cancel()
			if err := s.unlock.Run(ctx, s.client, []string{key}, token).Err(); err != nil {
				s.log.Warn("session: redis unlock failed; the lock expires by itself", "err", err)
			}
		})
	}, true, nil
}

// FirstUse records key for ttl and reports whether this was its first use
// on any replica sharing the Redis (SET NX PX): back-channel logout tokens
// use it so that a jti replayed to another replica is refused too.
func (s *RedisStore) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, onceKeyPrefix+idHash(key), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("session: redis first use: %w", err)
	}
	return ok, nil
}

// Used implements ReplayGuard.
func (s *RedisStore) Used(ctx context.Context, key string) (bool, error) {
	n, err := s.client.Exists(ctx, onceKeyPrefix+idHash(key)).Result()
	if err != nil {
		return false, fmt.Errorf("session: redis used: %w", err)
	}
	return n > 0, nil
}
