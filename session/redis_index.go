package session

import (
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis"
)

// Index key layout (docs/sessions.md "Redis key layout"). Sessions are
// indexed by the provider's (iss, sub) and (iss, sid), whatever user_claim
// says, so that back-channel logout and revocation find them. Index names
// carry an HMAC of the identifier, never the identifier: no email, subject
// or provider session id appears in a key name.
const (
	subIndexPrefix = "portcullis:idx:sub:" // + hex HMAC-SHA256("sub", iss, sub): set of session keys
	sidIndexPrefix = "portcullis:idx:sid:" // + hex HMAC-SHA256("sid", iss, sid): set of session keys
	// The layout before the HMAC index: the user_claim value and the raw
	// sid in key names. These sets expire with the last session they name
	// (at most session.lifetime after the upgrade); until then they are
	// still read, and each session they name is checked to belong to the
	// user asked for before it is ended.
	legacySubPrefix = "portcullis:sub:" // + user_claim value
	legacySIDPrefix = "portcullis:sid:" // + provider sid
)

// Index kinds: the first field of the HMAC input, so that a sub and a sid
// with the same text never share an index.
const (
	indexSub = "sub"
	indexSID = "sid"
)

// indexNamer computes index names: an HMAC key per secret, derived with HKDF
// (RFC 5869) for this purpose and the provider client (CookieConfig.Client).
// The first secret names new index entries; lookups try every secret, so
// that sessions indexed before a secret rotation are still found while their
// secret is listed, and then the keys of no client, which named the sets of
// sessions saved before the client was part of the name.
type indexNamer struct {
	keys [][]byte
}

func newIndexNamer(secrets [][]byte, client string) (*indexNamer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("session: no secrets")
	}
	purposes := []string{purposeRedisIndex}
	if client != "" {
		purposes = []string{purposeRedisIndex + " for client " + client, purposeRedisIndex}
	}
	n := &indexNamer{}
	for _, purpose := range purposes {
		for _, secret := range secrets {
			k, err := hkdf.Key(sha256.New, secret, nil, purpose+" hmac-sha256", 32)
			if err != nil {
				return nil, fmt.Errorf("session: derive key: %w", err)
			}
			n.keys = append(n.keys, k)
		}
	}
	return n, nil
}

// indexName returns the hex HMAC of (kind, iss, v) under key. Each field is
// length-prefixed, so no two inputs share an encoding.
func indexName(key []byte, kind, iss, v string) string {
	m := hmac.New(sha256.New, key)
	var n [4]byte
	for _, f := range []string{kind, iss, v} {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return hex.EncodeToString(m.Sum(nil))
}

// write returns the index key a new session is added to.
func (n *indexNamer) write(prefix, kind, iss, v string) string {
	return prefix + indexName(n.keys[0], kind, issuerForms(iss)[0], v)
}

// read returns the index keys to look (iss, v) up in: one per secret and
// spelling of iss (sessions indexed before the spellings were merged).
func (n *indexNamer) read(prefix, kind, iss, v string) []string {
	out := make([]string, 0, len(n.keys))
	for _, k := range n.keys {
		for _, form := range issuerForms(iss) {
			if name := prefix + indexName(k, kind, form, v); !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

// Google's two spellings of its issuer: its ID tokens carry either, and
// go-oidc accepts the short one for the configured long one.
const (
	googleIssuer         = "https://accounts.google.com"
	googleIssuerNoScheme = "accounts.google.com"
)

// issuerForms returns the spellings of issuer iss that name the same
// provider, the one new index entries use first. A session's issuer is its
// ID token's iss claim, while revocation and back-channel logout name the
// configured issuer: both must lead to the same index.
func issuerForms(iss string) []string {
	if iss == googleIssuer || iss == googleIssuerNoScheme {
		return []string{googleIssuer, googleIssuerNoScheme}
	}
	return []string{iss}
}

// sameIssuer reports whether a and b spell the same issuer.
func sameIssuer(a, b string) bool { return slices.Contains(issuerForms(a), b) }

// indexSet is one index set to look a user up in. Sets of the legacy layout
// are named by a value that may belong to someone else (a user_claim value
// equal to another user's sub): belongs checks each session they name.
type indexSet struct {
	key     string
	belongs func(*Session) bool // nil: every member belongs
}

// subjectSets are the sets that may index the sessions of (iss, sub).
func (s *RedisStore) subjectSets(iss, sub string) []indexSet {
	var sets []indexSet
	for _, k := range s.index.read(subIndexPrefix, indexSub, iss, sub) {
		sets = append(sets, indexSet{key: k})
	}
	return append(sets, indexSet{key: legacySubPrefix + sub, belongs: func(x *Session) bool {
		return sameIssuer(x.Identity.Issuer, iss) && providerSubject(&x.Identity) == sub
	}})
}

// sidSets are the sets that may index the sessions of provider session sid.
func (s *RedisStore) sidSets(iss, sid string) []indexSet {
	var sets []indexSet
	for _, k := range s.index.read(sidIndexPrefix, indexSID, iss, sid) {
		sets = append(sets, indexSet{key: k})
	}
	return append(sets, indexSet{key: legacySIDPrefix + sid, belongs: func(x *Session) bool {
		return sameIssuer(x.Identity.Issuer, iss) && x.Identity.SessionID == sid
	}})
}

// providerSubject is id's provider sub; sessions written before
// Identity.ProviderSubject existed have it only in their claims.
func providerSubject(id *portcullis.Identity) string {
	if id.ProviderSubject != "" {
		return id.ProviderSubject
	}
	sub, _ := id.Claims["sub"].(string)
	return sub
}

// indexed returns, per set, the session keys it names that belong to the
// user looked up (legacy sets are checked session by session). A session key
// whose value has gone (expired) counts as belonging, so it is cleared.
func (s *RedisStore) indexed(ctx context.Context, sets []indexSet) (map[string][]string, error) {
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringSliceCmd, len(sets))
	for i, set := range sets {
		cmds[i] = pipe.SMembers(ctx, set.key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(sets))
	for i, set := range sets {
		keys := cmds[i].Val()
		if set.belongs != nil && len(keys) > 0 {
			var err error
			if keys, err = s.filterSessions(ctx, keys, set.belongs); err != nil {
				return nil, err
			}
		}
		if len(keys) > 0 {
			out[set.key] = keys
		}
	}
	return out, nil
}

// filterSessions returns the session keys whose session is gone or passes
// keep.
func (s *RedisStore) filterSessions(ctx context.Context, keys []string, keep func(*Session) bool) ([]string, error) {
	var out []string
	for batch := range slices.Chunk(keys, scanBatch) {
		cmds, err := s.getBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		for i, cmd := range cmds {
			if errors.Is(cmd.Err(), redis.Nil) {
				out = append(out, batch[i])
				continue
			}
			if sess, err := s.openValue(batch[i], cmd.Val()); err == nil && keep(sess) {
				out = append(out, batch[i])
			}
		}
	}
	return out, nil
}

// getBatch GETs keys in one pipeline; a missing key is not an error (its
// command says redis.Nil).
func (s *RedisStore) getBatch(ctx context.Context, keys []string) ([]*redis.StringCmd, error) {
	pipe := s.client.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return cmds, nil
}

// indexPruneAt is the size beyond which a login sheds the members of its
// index sets whose session is gone. Entries are not removed when one
// session ends (sign-out, expiry), and every login lengthens the set's TTL,
// so without this a user who signs in again within each lifetime would
// grow a set by one member per login, for ever.
const indexPruneAt = 64

// maxSessionsPerUser is how many live sessions one provider user (iss, sub)
// keeps: a sign-in beyond it ends the oldest (docs/sessions.md). A script
// that signs in again and again and never signs out otherwise kept one
// session value per sign-in for session.lifetime. It is checked at sign-in
// only, from the index set the sign-in writes anyway.
const maxSessionsPerUser = 100

// pruneIndexes prunes those of the index sets a new session was added to
// that hold more than indexPruneAt members, and in the user's set userIdx
// ("" without one) ends the oldest sessions beyond maxSessionsPerUser, never
// newKey, the one just saved. It is not part of the login: an error here
// leaves the sets and sessions as they were or partly trimmed.
func (s *RedisStore) pruneIndexes(ctx context.Context, indexes []string, userIdx, newKey string) error {
	if len(indexes) == 0 {
		return nil
	}
	pipe := s.client.Pipeline()
	sizes := make([]*redis.IntCmd, len(indexes))
	for i, idx := range indexes {
		sizes[i] = pipe.SCard(ctx, idx)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	for i, idx := range indexes {
		if sizes[i].Val() <= indexPruneAt {
			continue
		}
		live, err := s.pruneIndex(ctx, idx)
		if err != nil {
			return err
		}
		if idx == userIdx && len(live) > maxSessionsPerUser {
			if err := s.endOldest(ctx, idx, live, newKey); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexedSession is a member of an index set whose session is live, with
// the session's remaining TTL.
type indexedSession struct {
	key string
	ttl time.Duration
}

// pruneIndex removes from index set idx the session keys whose session is
// gone and returns the others. A session key never comes back once gone
// (ids are random), so a member removed here cannot belong to a session
// created meanwhile.
func (s *RedisStore) pruneIndex(ctx context.Context, idx string) ([]indexedSession, error) {
	keys, err := s.client.SMembers(ctx, idx).Result()
	if err != nil {
		return nil, err
	}
	var live []indexedSession
	for batch := range slices.Chunk(keys, scanBatch) {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.DurationCmd, len(batch))
		for i, k := range batch {
			cmds[i] = pipe.PTTL(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		var gone []any
		for i, c := range cmds {
			// PTTL answers -2 for a missing key (go-redis keeps the
			// negative values as they are).
			if c.Val() == -2 {
				gone = append(gone, batch[i])
			} else {
				live = append(live, indexedSession{batch[i], c.Val()})
			}
		}
		if len(gone) > 0 {
			if err := s.client.SRem(ctx, idx, gone...).Err(); err != nil {
				return nil, err
			}
		}
	}
	return live, nil
}

// endOldest ends the sessions of live beyond the newest maxSessionsPerUser,
// never newKey, and removes them from index set idx. A session's TTL is
// what remains of its lifetime from its sign-in, so the shortest is the
// oldest (a session without a TTL, which the store never writes, counts
// as oldest). Unlinked like a sign-out: every replica reads the session on
// each request and finds it gone.
func (s *RedisStore) endOldest(ctx context.Context, idx string, live []indexedSession, newKey string) error {
	slices.SortFunc(live, func(a, b indexedSession) int { return cmp.Compare(a.ttl, b.ttl) })
	var end []string
	for _, x := range live {
		if len(live)-len(end) <= maxSessionsPerUser {
			break
		}
		if x.key != newKey {
			end = append(end, x.key)
		}
	}
	if len(end) == 0 {
		return nil
	}
	// One UNLINK per key (unlink): a Cluster keeps sessions in many slots.
	if _, err := s.unlink(ctx, end, false); err != nil {
		return err
	}
	members := make([]any, len(end))
	for i, k := range end {
		members[i] = k
	}
	return s.client.SRem(ctx, idx, members...).Err()
}

// union returns the distinct session keys of an indexed result.
func union(bySet map[string][]string) []string {
	var keys []string
	for _, ks := range bySet {
		keys = append(keys, ks...)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
