package session

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Info describes a server-side session for operators. It never holds tokens
// or the id the cookie carries. Subject, ProviderSubject and Email come from
// the sealed session value: Redis key names carry none of them.
type Info struct {
	ID              string    // hex SHA-256 of the session id: what DeleteByID takes
	Subject         string    // the user (user_claim)
	ProviderSubject string    // the provider's sub: what List and DeleteBySubject take
	Email           string    // the user's email, as the provider gave it
	CreatedAt       time.Time // login time
	ExpiresAt       time.Time // end of the absolute lifetime
}

// scanBatch is the COUNT hint of SCAN and the size of GET/UNLINK pipelines.
const scanBatch = 500

// List returns the sessions of the provider's subject sub at issuer iss
// ("" for plain OAuth 2.0), or every session when sub is "", oldest first.
// Sessions that expired or cannot be opened are skipped. It reads every
// session, not the index: a session the index lost (an evicting Redis, a
// Cluster node that failed over before it replicated a login's SADD) or
// never held (the layout before the HMAC index) is listed too.
func (s *RedisStore) List(ctx context.Context, iss, sub string) ([]Info, error) {
	keys, err := s.scan(ctx, sessionKeyPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("session: redis list: %w", err)
	}
	var infos []Info
	now := s.cfg.Now()
	for batch := range slices.Chunk(keys, scanBatch) {
		cmds, err := s.getBatch(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("session: redis list: %w", err)
		}
		for i, cmd := range cmds {
			sess, err := s.openValue(batch[i], cmd.Val())
			// Past its end, a session may outlive its key's TTL: a reload
			// that lowered the lifetime ended it, not the key set before.
			if cmd.Err() != nil || err != nil || !now.Before(sess.ExpiresAt) {
				continue
			}
			id := &sess.Identity
			if sub != "" && (!sameIssuer(id.Issuer, iss) || providerSubject(id) != sub) {
				continue
			}
			infos = append(infos, Info{
				ID: batch[i][len(sessionKeyPrefix):], Subject: id.Subject, ProviderSubject: providerSubject(id),
				Email: id.Email, CreatedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt,
			})
		}
	}
	slices.SortFunc(infos, func(a, b Info) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return infos, nil
}

// DeleteByID ends one session, named by its Info.ID. It returns ErrNoSession
// when there is no such session.
func (s *RedisStore) DeleteByID(ctx context.Context, id string) error {
	if b, err := hex.DecodeString(id); err != nil || len(b) != 32 {
		return fmt.Errorf("session: session id %q is not a listed id (64 hex digits)", id)
	}
	cmd := unlinkOnce(ctx, sessionKeyPrefix+id)
	if err := s.client.Process(ctx, cmd); err != nil {
		if err := unconfirmed(err); errors.Is(err, ErrUnconfirmed) {
			return err
		}
		return fmt.Errorf("session: redis delete: %w", err)
	}
	n := cmd.Val()
	if n == 0 {
		return ErrNoSession
	}
	return nil
}

// DeleteBySubject ends every session of the provider's subject sub at
// issuer iss (revocation, back-channel logout) and returns how many there
// were. A sign-in of the user begun before it is refused when it saves its
// session (refuseLoggedOut).
func (s *RedisStore) DeleteBySubject(ctx context.Context, iss, sub string) (n int, err error) {
	start := time.Now()
	defer func() { s.metrics.observe(opDelete, start, err) }()
	return s.deleteBySubject(ctx, iss, sub, false)
}

// deleteBySubject is DeleteBySubject; exact as for unlink.
func (s *RedisStore) deleteBySubject(ctx context.Context, iss, sub string, exact bool) (int, error) {
	// Before the lookup: a sign-in under way is refused at its Save.
	mark := s.recordLogout(ctx, loggedOutSubPrefix, indexSub, iss, sub)
	return afterMarker(mark, func() (int, error) { return s.deleteIndexed(ctx, s.subjectSets(iss, sub), exact) })
}

// RevokeSubject ends every session of the provider's subject sub at issuer
// iss, for `portcullis sessions revoke --sub`: those the index names
// (DeleteBySubject), then every other one that List finds by reading all
// sessions, so that a lost index entry cannot leave one alive. It returns
// how many there were.
func (s *RedisStore) RevokeSubject(ctx context.Context, iss, sub string) (int, error) {
	n, err := s.deleteBySubject(ctx, iss, sub, true)
	if err != nil {
		return n, err
	}
	infos, err := s.List(ctx, iss, sub)
	if err != nil {
		return n, err
	}
	keys := make([]string, len(infos))
	for i, in := range infos {
		keys[i] = sessionKeyPrefix + in.ID
	}
	m, err := s.unlink(ctx, keys, true)
	return n + m, err
}

// DeleteBySID ends every session of the provider session sid at issuer iss
// (OpenID Connect Back-Channel Logout 1.0 §2.5) and returns how many there
// were. A sign-in of that provider session under way is refused when it
// saves its session (refuseLoggedOut).
func (s *RedisStore) DeleteBySID(ctx context.Context, iss, sid string) (n int, err error) {
	start := time.Now()
	defer func() { s.metrics.observe(opDelete, start, err) }()
	mark := s.recordLogout(ctx, loggedOutSIDPrefix, indexSID, iss, sid)
	return afterMarker(mark, func() (int, error) { return s.deleteIndexed(ctx, s.sidSets(iss, sid), false) })
}

// deleteIndexed deletes the sessions the index sets name, then removes
// exactly those members, so a session created meanwhile stays indexed.
// exact as for unlink.
func (s *RedisStore) deleteIndexed(ctx context.Context, sets []indexSet, exact bool) (int, error) {
	bySet, err := s.indexed(ctx, sets)
	if err != nil {
		return 0, fmt.Errorf("session: redis delete: %w", err)
	}
	if len(bySet) == 0 {
		return 0, nil
	}
	n, err := s.unlink(ctx, union(bySet), exact)
	if err != nil {
		return n, err
	}
	pipe := s.client.Pipeline()
	for set, keys := range bySet {
		members := make([]any, len(keys))
		for i, k := range keys {
			members[i] = k
		}
		pipe.SRem(ctx, set, members...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return n, fmt.Errorf("session: redis delete: %w", err)
	}
	return n, nil
}

// DeleteAll ends every session and removes the indexes; it returns how many
// sessions there were.
func (s *RedisStore) DeleteAll(ctx context.Context) (int, error) {
	keys, err := s.scan(ctx, sessionKeyPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("session: redis delete: %w", err)
	}
	n, err := s.unlink(ctx, keys, true)
	if err != nil {
		return n, err
	}
	for _, pattern := range []string{subIndexPrefix + "*", sidIndexPrefix + "*", legacySubPrefix + "*", legacySIDPrefix + "*"} {
		idx, err := s.scan(ctx, pattern)
		if err != nil {
			return n, fmt.Errorf("session: redis delete: %w", err)
		}
		if _, err := s.unlink(ctx, idx, false); err != nil {
			return n, err
		}
	}
	return n, nil
}

// unlink deletes keys one command each in pipelines (keys of a Cluster live
// in different slots) and returns how many existed. exact is for counts an
// operator reads (`portcullis sessions revoke`): the UNLINKs are sent once,
// and a batch whose answer was lost is ErrUnconfirmed (see unlinkOnce).
// Otherwise go-redis may send a batch again, and its count may be short.
func (s *RedisStore) unlink(ctx context.Context, keys []string, exact bool) (int, error) {
	n := 0
	for batch := range slices.Chunk(keys, scanBatch) {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.IntCmd, len(batch))
		for i, k := range batch {
			if exact {
				once := unlinkOnce(ctx, k)
				cmds[i] = once.IntCmd
				_ = pipe.Process(ctx, once)
			} else {
				cmds[i] = pipe.Unlink(ctx, k)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			if err := unconfirmed(err); exact && errors.Is(err, ErrUnconfirmed) {
				return n, err
			}
			return n, fmt.Errorf("session: redis delete: %w", err)
		}
		for _, c := range cmds {
			n += int(c.Val())
		}
	}
	return n, nil
}

// ErrUnconfirmed means the connection to Redis failed after a delete was
// sent and before its answer came: the sessions may or may not have ended.
var ErrUnconfirmed = errors.New("session: redis did not confirm the delete: the sessions it named may or may not have been revoked")

// onceCmd is a command go-redis never sends twice. go-redis sends a
// command again when the connection fails before its answer, though Redis
// may have run it: a second UNLINK of a key the first one deleted answers
// 0, and a revoke that reported that would say the session was not there.
type onceCmd struct{ *redis.IntCmd }

func (onceCmd) NoRetry() bool { return true }

func unlinkOnce(ctx context.Context, key string) onceCmd {
	return onceCmd{redis.NewIntCmd(ctx, "unlink", key)}
}

// unconfirmed is err, marked ErrUnconfirmed unless Redis refused the
// command (an error reply) or it never left (a failed dial).
func unconfirmed(err error) error {
	var reply redis.Error
	var op *net.OpError
	if err == nil || errors.As(err, &reply) || (errors.As(err, &op) && op.Op == "dial") {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnconfirmed, err)
}

// scan returns the keys matching pattern, on every master of a Cluster.
func (s *RedisStore) scan(ctx context.Context, pattern string) ([]string, error) {
	var mu sync.Mutex
	var keys []string
	each := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			batch, next, err := c.Scan(ctx, cursor, pattern, scanBatch).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			keys = append(keys, batch...)
			mu.Unlock()
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return each(ctx, c) })
		return keys, err
	}
	return keys, each(ctx, s.client)
}

// activeCount caches the number of sessions in Redis for the
// portcullis_active_sessions gauge, so that scrapes do not each SCAN.
type activeCount struct {
	mu    sync.Mutex
	at    time.Time
	value float64
}

// activeCountTTL is how long a counted value is reused.
const activeCountTTL = 15 * time.Second

func (s *RedisStore) registerActive(reg prometheus.Registerer) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "portcullis",
		Name:      "active_sessions",
		Help:      "Sessions in the Redis store (counted with SCAN, at most every 15 s).",
	}, s.countActive)
	if err := reg.Register(g); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			// A store rebuilt on reload: the first store's gauge keeps counting
			// the same Redis keys.
			return nil
		}
		return err
	}
	return nil
}

// CountActive is the number of sessions in Redis, counted at most every
// 15 s: the value of portcullis_active_sessions.
func (s *RedisStore) CountActive() float64 { return s.countActive() }

func (s *RedisStore) countActive() float64 {
	s.active.mu.Lock()
	defer s.active.mu.Unlock()
	if time.Since(s.active.at) < activeCountTTL {
		return s.active.value
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*redisIOTimeout)
	defer cancel()
	keys, err := s.scan(ctx, sessionKeyPrefix+"*")
	if err != nil {
		s.log.Warn("session: counting active sessions failed", logattr.Err(err))
		return s.active.value
	}
	s.active.at, s.active.value = time.Now(), float64(len(keys))
	return s.active.value
}
