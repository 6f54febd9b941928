package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/redis/go-redis/v9"
)

// Redis key layout (docs/sessions.md). Session keys hold the hash of the
// id, never the id itself, so a dump of Redis yields no usable cookie; index
// sets (redis_index.go) hold session keys under HMAC names.
const (
	sessionKeyPrefix = "portcullis:s:"    // + hex SHA-256(id): the sealed session
	lockKeyPrefix    = "portcullis:lock:" // + hex SHA-256(id): refresh lock
	onceKeyPrefix    = "portcullis:once:" // + hex SHA-256(key): FirstUse markers
	idLen            = 32                 // random id bytes (256 bits)
)

// Timeouts for talking to Redis: a request never waits long on a dead store.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = time.Second
	// redisCallTimeout bounds each Redis call (a command or a pipeline,
	// with go-redis's retry, its dial and its wait for a pooled connection)
	// from its start, whatever the caller's context: a Redis that stops
	// answering costs a request that needs it about this long, then a 503
	// (docs/sessions.md "Redis store").
	redisCallTimeout = time.Second
	// go-redis retries a failed dial 5 times, 100 ms apart, by default:
	// too long for a request to wait on a Redis that is down.
	redisDialRetries   = 2
	redisDialRetryWait = 20 * time.Millisecond
)

// RedisStore keeps sessions in Redis (docs/sessions.md "redis" store). The cookie
// carries only a sealed 256-bit random id; the session is sealed again
// (keys derived from the secrets for this purpose, bound to its Redis key)
// before it is stored, so Redis contents alone reveal no tokens. Sessions
// are indexed by the provider's (iss, sub) and (iss, sid) for logout and
// revocation, under HMAC names that hold no personal data.
//
// Load costs one round trip: for a session this process has opened before,
// a GETRANGE of the stored value's tag (a few bytes) that proves it
// unchanged; otherwise a GET. Errors talking to Redis are returned as they are (not
// ErrNoSession), so callers can answer 503 instead of sending users to log in.
type RedisStore struct {
	client  redis.UniversalClient
	cfg     CookieConfig
	idSeal  *sealer
	valSeal *sealer
	index   *indexNamer
	cache   *openCache[redisEntry]
	keep    residentRule // what the cache keeps of a session
	metrics *storeMetrics
	log     *slog.Logger
	unlock  *redis.Script
	active  activeCount
	// checks sends revalidate's GETRANGEs: go-redis's autopipeliner, which
	// writes the checks of concurrent requests to one connection as one
	// pipeline (one system call each way for many requests, here and in
	// redis-server) instead of one round trip per request on a pooled
	// connection. Each request still waits for its own reply. The
	// pipeliner does not heed a command's context, and runs its batches one
	// after another: a check waits for the batch ahead of it, then for its
	// own, each cut short by callBound after redisCallTimeout.
	checks redis.Cmdable
}

var (
	_ Store       = (*RedisStore)(nil)
	_ Locker      = (*RedisStore)(nil)
	_ Revoker     = (*RedisStore)(nil)
	_ ReplayGuard = (*RedisStore)(nil)
)

// redisEntry is what a cookie value opened to, and the session the last
// Redis value seen for it decoded to, with that value's tag.
type redisEntry struct {
	id, key string
	tag     string // valueTag of the value sess came from
	sess    *Session
}

// tagLen is how many trailing characters of a sealed Redis value identify
// it. A sealed value is the base64 of "date|ciphertext|HMAC-SHA256" with a
// fresh date and IV on every save, so its last 24 characters are 18 bytes
// of a MAC: two different values share them with probability 2^-144, and
// only a holder of the secrets can choose them.
const tagLen = 24

// valueTag is the tag of a sealed Redis value.
func valueTag(val string) string {
	if len(val) <= tagLen {
		return val
	}
	return val[len(val)-tagLen:]
}

// NewRedisStore connects a Redis store (the connection is made lazily: use
// Ping to check it). Exactly one of cfg.URL, cfg.ClusterAddrs and
// cfg.SentinelAddrs must be set.
func NewRedisStore(cfg RedisConfig, cookie CookieConfig, opts ...StoreOptions) (*RedisStore, error) {
	s, err := cookieKeyedStore(cookie)
	if err != nil {
		return nil, err
	}
	o := firstOptions(opts)
	m, err := newStoreMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	client, err := newRedisClient(cfg)
	if err != nil {
		return nil, err
	}
	s.client, s.metrics, s.log = client, m, o.logger()
	s.cache, s.keep = newOpenCache[redisEntry](o.CacheSize), newResidentRule(o)
	s.unlock = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
	s.checks = autoPipeline(client)
	if o.Metrics != nil && !o.NoActiveGauge {
		if err := s.registerActive(o.Metrics); err != nil {
			client.Close()
			return nil, err
		}
	}
	return s, nil
}

// WithCookie returns a store on s's Redis connection with other cookie
// settings (secrets rotated by a configuration reload): the connection pool
// is shared, so closing either store closes it for both. Sessions stay
// readable while the secret that sealed them is still listed.
func (s *RedisStore) WithCookie(cookie CookieConfig) (*RedisStore, error) {
	n, err := cookieKeyedStore(cookie)
	if err != nil {
		return nil, err
	}
	n.client, n.metrics, n.log = s.client, s.metrics, s.log
	n.cache, n.keep = newOpenCache[redisEntry](s.cache.max), s.keep
	n.unlock, n.checks = s.unlock, s.checks
	return n, nil
}

// cookieKeyedStore returns a store holding only what the cookie settings
// decide: the checked settings, the sealers of the cookie's session ID and
// of the stored value, and the namer of the users' index sets. A new store
// and a reloaded one (WithCookie) add their connection and the rest.
func cookieKeyedStore(cookie CookieConfig) (*RedisStore, error) {
	cookie, err := checkCookieConfig(cookie)
	if err != nil {
		return nil, err
	}
	idSeal, err := newSealer(cookie.Secrets, boundPurpose(purposeRedisID, cookie.Binding), cookie.Lifetime)
	if err != nil {
		return nil, err
	}
	valSeal, err := newSealer(cookie.Secrets, purposeRedisValue, cookie.Lifetime)
	if err != nil {
		return nil, err
	}
	index, err := newIndexNamer(cookie.Secrets, cookie.Client)
	if err != nil {
		return nil, err
	}
	return &RedisStore{cfg: cookie, idSeal: idSeal, valSeal: valSeal, index: index}, nil
}

// sessionKey returns the Redis key of a session id.
func sessionKey(id string) string { return sessionKeyPrefix + idHash(id) }

// idHash is the hex SHA-256 of an id: what Redis and List show instead of it.
func idHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Load opens the cookie's id and reads its session: one round trip. A
// session already decoded for this cookie is reused while Redis still holds
// the value it came from (revalidate). It returns the resident copy the
// cache keeps (Session.Elided); Full reads the tokens again.
func (s *RedisStore) Load(r *http.Request) (sess *Session, err error) {
	start := time.Now()
	sess, err = s.load(r)
	s.metrics.observe(opLoad, start, err)
	return sess, err
}

func (s *RedisStore) load(r *http.Request) (*Session, error) {
	var err error = ErrNoSession
	for i := range maxSameName {
		cookie, ok := nthCookie(r.Header, s.cfg.Name, i)
		if !ok {
			break
		}
		if cookie == "" {
			continue
		}
		sess, lerr := s.loadCookie(r, cookie)
		if lerr == nil || !errors.Is(lerr, ErrNoSession) {
			return sess, lerr // the session, or a store that could not be asked
		}
		err = worseNoSession(err, lerr)
	}
	return nil, err
}

// loadCookie is load of one cookie value.
func (s *RedisStore) loadCookie(r *http.Request, cookie string) (*Session, error) {
	e, hit := s.cache.get(cookie)
	if hit {
		sess, err := s.revalidate(r, cookie, e)
		if sess != nil || err != nil {
			return sess, err
		}
	} else {
		id, ok := s.openID(cookie)
		if !ok {
			return nil, ErrForeignCookie
		}
		e = redisEntry{id: id, key: sessionKey(id)}
	}
	val, err := s.client.Get(r.Context(), e.key).Result()
	if errors.Is(err, redis.Nil) {
		if hit {
			s.cache.remove(cookie)
		}
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("session: redis load: %w", err)
	}
	sess, err := s.openValue(e.key, val)
	if err != nil || !s.cfg.Now().Before(sess.ExpiresAt) {
		return nil, ErrNoSession
	}
	sess.ID = e.id
	e.tag, e.sess = valueTag(val), sess.resident(s.keep)
	s.cache.put(cookie, e)
	return e.sess, nil
}

// revalidate asks Redis whether the value e.sess came from is still the
// session's value, fetching only its tag (GETRANGE of the last tagLen
// characters: a reply of a few bytes instead of the whole sealed session).
// It returns e.sess when it is, ErrNoSession when the session is gone or
// past its lifetime, and (nil, nil) when the value changed (a refresh on
// another replica) and must be read again.
func (s *RedisStore) revalidate(r *http.Request, cookie string, e redisEntry) (*Session, error) {
	tag, err := s.checks.GetRange(r.Context(), e.key, -tagLen, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("session: redis load: %w", err)
	}
	switch {
	case tag == "": // GETRANGE of a missing key: deleted, revoked or expired
		s.cache.remove(cookie)
		return nil, ErrNoSession
	case tag != e.tag:
		return nil, nil
	case !s.cfg.Now().Before(e.sess.ExpiresAt):
		return nil, ErrNoSession
	}
	return e.sess, nil
}

// openID opens a cookie value into the session id it carries.
func (s *RedisStore) openID(cookie string) (string, bool) {
	raw, err := s.idSeal.open(s.cfg.Name, cookie)
	if err != nil || len(raw) != idLen {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(raw), true
}

// openValue opens a sealed Redis value stored under key.
func (s *RedisStore) openValue(key, val string) (*Session, error) {
	b, err := s.valSeal.open(key, val)
	if err != nil {
		return nil, err
	}
	return unmarshalSession(s.valSeal, b, s.cfg.Lifetime)
}

// sealValue seals sess for storage under key.
func (s *RedisStore) sealValue(key string, sess *Session) (string, error) {
	b, err := json.Marshal(sess)
	if err != nil {
		return "", err
	}
	if b, err = compress(b); err != nil {
		return "", err
	}
	return s.valSeal.seal(key, b)
}

// Save stores sess. With an empty ID it creates a new session under a fresh
// random id, indexes it by the provider's (iss, sub) and (iss, sid) in the
// same pipeline, and sets the cookie. With an ID (a refresh) it rewrites the session in place, with
// TTL = the remaining lifetime, and leaves the cookie alone; a session that
// was deleted meanwhile (sign-out elsewhere) is not recreated: ErrNoSession.
// An elided session is refused.
func (s *RedisStore) Save(w http.ResponseWriter, r *http.Request, sess *Session) (err error) {
	start := time.Now()
	defer func() { s.metrics.observe(opSave, start, err) }()
	remaining, err := saveLifetime(sess, s.cfg.Now())
	if err != nil {
		return err
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if sess.ID != "" {
		return s.update(ctx, r, sess, remaining)
	}
	return s.create(ctx, w, r, sess, remaining)
}

// create is Save of a new session: a fresh ID, the value and its index
// entries written in one pipeline, then the cookie.
func (s *RedisStore) create(ctx context.Context, w http.ResponseWriter, r *http.Request, sess *Session, remaining time.Duration) error {
	raw := make([]byte, idLen)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	stored := sess.Clone()
	stored.ID = base64.RawURLEncoding.EncodeToString(raw)
	key := sessionKey(stored.ID)
	val, err := s.sealValue(key, stored)
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	cookie, err := s.idSeal.seal(s.cfg.Name, raw)
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	pipe := s.client.Pipeline()
	pipe.Set(ctx, key, val, remaining)
	id := &stored.Identity
	indexes, userIdx := s.queueIndexes(ctx, pipe, id, key, remaining)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("session: redis save: %w", err)
	}
	// After the index writes: a logout that misses this session (its
	// lookup ran before them) recorded its marker first.
	since := sess.SignInStarted
	if since.IsZero() {
		since = sess.CreatedAt
	}
	if err := s.refuseLoggedOut(ctx, id, since); err != nil {
		if uerr := s.client.Unlink(context.WithoutCancel(ctx), key).Err(); uerr != nil {
			s.log.Warn("session: removing a session refused at sign-in failed", logattr.Err(uerr))
		}
		return err
	}
	if err := s.pruneIndexes(ctx, indexes, userIdx, key); err != nil {
		s.log.Warn("session: removing ended sessions from an index set failed", logattr.Err(err))
	}
	http.SetCookie(w, newCookie(s.cfg, s.cfg.Name, cookie, maxAgeSeconds(remaining)))
	if r != nil {
		clearChunks(w, r, s.cfg)
	}
	s.cache.put(cookie, redisEntry{id: stored.ID, key: key, tag: valueTag(val), sess: stored.resident(s.keep)})
	return nil
}

// queueIndexes adds to pipe the writes that index the session stored at
// key by the provider's (iss, sub) and (iss, sid), each present, and
// returns the index sets it writes, the (iss, sub) one also as userIdx.
// Every session of a user gets the same lifetime, so the newest one
// expires last and its TTL is the index's.
func (s *RedisStore) queueIndexes(ctx context.Context, pipe redis.Pipeliner, id *portcullis.Identity, key string, remaining time.Duration) (indexes []string, userIdx string) {
	add := func(idx string) {
		pipe.SAdd(ctx, idx, key)
		extendTTL.Eval(ctx, pipe, []string{idx}, remaining.Milliseconds())
		indexes = append(indexes, idx)
	}
	if sub := providerSubject(id); sub != "" {
		userIdx = s.index.write(subIndexPrefix, indexSub, id.Issuer, sub)
		add(userIdx)
	}
	if sid := id.SessionID; sid != "" {
		add(s.index.write(sidIndexPrefix, indexSID, id.Issuer, sid))
	}
	return indexes, userIdx
}

// extendTTL sets an index set's TTL to ARGV[1] ms unless it already lives
// longer: a session saved with a shorter lifetime (session.lifetime lowered
// by a reload) must not make the index forget the user's older sessions.
var extendTTL = redis.NewScript(`local t = redis.call("PTTL", KEYS[1])
if t >= 0 and t >= tonumber(ARGV[1]) then return 0 end
return redis.call("PEXPIRE", KEYS[1], ARGV[1])`)

// update rewrites an existing session in place (SET XX), indexed under the
// provider session (sid) it names now: a refresh may name another one than
// the sign-in did (queueSIDIndex).
func (s *RedisStore) update(ctx context.Context, r *http.Request, sess *Session, remaining time.Duration) error {
	stored := sess.Clone()
	key := sessionKey(stored.ID)
	val, err := s.sealValue(key, stored)
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	pipe := s.client.Pipeline()
	set := pipe.SetXX(ctx, key, val, remaining)
	s.queueSIDIndex(ctx, pipe, &stored.Identity, key, remaining)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("session: redis save: %w", err)
	}
	if !set.Val() {
		return ErrNoSession
	}
	if err := s.refuseLoggedOutSID(ctx, &stored.Identity, key); err != nil {
		return err
	}
	for i := 0; r != nil && i < maxSameName; i++ {
		cookie, found := nthCookie(r.Header, s.cfg.Name, i)
		if !found {
			break
		}
		if e, hit := s.cache.get(cookie); hit && e.key == key {
			s.cache.put(cookie, redisEntry{id: stored.ID, key: key, tag: valueTag(val), sess: stored.resident(s.keep)})
		}
	}
	return nil
}

// clearChunks expires chunk cookies a cookie store may have left (a switch
// from store = "cookie" to "redis").
func clearChunks(w http.ResponseWriter, r *http.Request, cfg CookieConfig) {
	expireCookies(w, r, cfg, 1)
}

// Delete removes the request's session from Redis, which ends every copy of
// its cookie, and clears the cookies. The cookies are cleared even when Redis
// cannot be reached; the error is returned.
func (s *RedisStore) Delete(w http.ResponseWriter, r *http.Request) (err error) {
	start := time.Now()
	defer func() { s.metrics.observe(opDelete, start, err) }()
	clearSessionCookies(w, r, s.cfg)
	// Every cookie of the name that opens: the session the request was
	// served with may be the second (maxSameName). One key per command: a
	// Cluster refuses keys of several slots in one.
	for i := range maxSameName {
		cookie, ok := nthCookie(r.Header, s.cfg.Name, i)
		if !ok {
			break
		}
		s.cache.remove(cookie)
		id, ok := s.openID(cookie)
		if !ok {
			continue
		}
		if err := s.client.Unlink(r.Context(), sessionKey(id)).Err(); err != nil {
			return fmt.Errorf("session: redis delete: %w", err)
		}
	}
	return nil
}

// Owns reports whether name is the session cookie, a (stale) chunk of it, or
// a login-state cookie.
func (s *RedisStore) Owns(name string) bool { return ownsCookie(s.cfg.Name, name) }

// RedisRefusal returns the code of Redis's error reply err carries (its
// first word: NOAUTH, WRONGPASS, LOADING, READONLY, …), or "" when err is
// no error reply (a refused connection, a timeout): for /readyz, which
// would otherwise call a Redis that refuses the gateway's password
// unreachable and send the operator to the network.
func RedisRefusal(err error) string {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return ""
	}
	code, _, _ := strings.Cut(rerr.Error(), " ")
	if code == "" || len(code) > 32 || strings.TrimLeft(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return "ERR"
	}
	return code
}

// Close closes the connections to Redis.
func (s *RedisStore) Close() error { return s.client.Close() }
