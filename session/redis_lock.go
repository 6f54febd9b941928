package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/redis/go-redis/v9"
)

// claimScript sets KEYS[1] to ARGV[1], a caller's random token, for ARGV[2]
// ms unless it is set, and returns 1 when it now holds that token. go-redis
// sends a command again when its connection failed before the reply came
// (MaxRetries): a SET NX that Redis had carried out then answered that the
// key was taken, and the caller took its own lock for another replica's
// (and waited on it) or its own login state for a replayed one. The retry
// of a claim finds its own token and is still the caller's.
var claimScript = redis.NewScript(`local v = redis.call("GET", KEYS[1])
if v == ARGV[1] then return 1 end
if v then return 0 end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1`)

// claim sets key to a fresh random token for ttl unless it is set, and
// returns the token when it did (claimScript), "" when the key was taken.
// On an error the claim may have been carried out all the same (Redis
// answered late): release undoes it.
func (s *RedisStore) claim(ctx context.Context, key string, ttl time.Duration) (token string, err error) {
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return "", err
	}
	token = hex.EncodeToString(tok)
	ok, err := claimScript.Run(ctx, s.client, []string{key}, token, max(ttl.Milliseconds(), 1)).Bool()
	switch {
	case err != nil:
		s.releaseLater(ctx, key, token)
		return "", err
	case !ok:
		return "", nil
	}
	return token, nil
}

// releaseLater deletes key if it still holds token, without holding up the
// caller: a claim that failed may have reached a Redis that answered too
// late, and would then stand for its whole TTL for nobody.
func (s *RedisStore) releaseLater(ctx context.Context, key, token string) {
	go s.release(context.WithoutCancel(ctx), key, token)
}

// release deletes key if it still holds token (compare and delete in one
// Lua script), within redisCallTimeout.
func (s *RedisStore) release(ctx context.Context, key, token string) {
	ctx, cancel := context.WithTimeout(ctx, redisCallTimeout)
	defer cancel()
	if err := s.unlock.Run(ctx, s.client, []string{key}, token).Err(); err != nil {
		s.log.Warn("session: redis unlock failed; the lock expires by itself", logattr.Err(err))
	}
}

// Lock takes a short lock named after session id (claim: a random token
// set unless the key is set, PX ttl), so that one replica refreshes a
// session while the others wait and reload it. unlock releases it only if
// it is still ours (compare and delete in one Lua script); a crashed
// holder's lock expires after ttl.
func (s *RedisStore) Lock(ctx context.Context, id string, ttl time.Duration) (unlock func(), acquired bool, err error) {
	key := lockKeyPrefix + idHash(id)
	start := time.Now()
	token, err := s.claim(ctx, key, ttl)
	s.metrics.observe(opSave, start, err)
	if err != nil {
		return nil, false, fmt.Errorf("session: redis lock: %w", err)
	}
	if token == "" {
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() { s.release(context.WithoutCancel(ctx), key, token) })
	}, true, nil
}

// FirstUse records key for ttl and reports whether this was its first use
// on any replica sharing the Redis (claim): login states and back-channel
// logout tokens use it so that a copy replayed to another replica is
// refused too.
func (s *RedisStore) FirstUse(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	start := time.Now()
	token, err := s.claim(ctx, onceKeyPrefix+idHash(key), ttl)
	s.metrics.observe(opSave, start, err)
	if err != nil {
		return false, fmt.Errorf("session: redis first use: %w", err)
	}
	return token != "", nil
}

// Used implements ReplayGuard.
func (s *RedisStore) Used(ctx context.Context, key string) (bool, error) {
	start := time.Now()
	n, err := s.client.Exists(ctx, onceKeyPrefix+idHash(key)).Result()
	s.metrics.observe(opLoad, start, err)
	if err != nil {
		return false, fmt.Errorf("session: redis used: %w", err)
	}
	return n > 0, nil
}
