package session

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
)

// Full returns sess with its tokens: one GET of its key, opened without the
// cache. ErrNoSession means the session is gone (signed out, expired);
// errors talking to Redis are returned as they are, as Load does.
func (s *RedisStore) Full(r *http.Request, sess *Session) (*Session, error) {
	if !sess.Elided() {
		return sess, nil
	}
	if sess.ID == "" {
		return nil, ErrNoSession
	}
	key := sessionKey(sess.ID)
	start := time.Now()
	val, err := s.client.Get(r.Context(), key).Result()
	if errors.Is(err, redis.Nil) {
		err = ErrNoSession
	}
	s.metrics.observe(opLoad, start, err)
	if errors.Is(err, ErrNoSession) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("session: redis load: %w", err)
	}
	full, err := s.openValue(key, val)
	if err != nil || !s.cfg.Now().Before(full.ExpiresAt) || !sameSession(full, sess) {
		return nil, ErrNoSession
	}
	full.ID = sess.ID
	return full, nil
}
