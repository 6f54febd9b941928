package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis/portcullis"
)

// Logout markers (docs/sessions.md "Redis key layout"): a back-channel
// logout or a revocation by sub finds only the sessions that exist when it
// runs. A sign-in under way at that moment (the user signed in at the
// provider, the browser has not reached the callback yet, or its code
// exchange is running) would then create a session for the provider
// session just ended. So the logout is remembered for as long as a sign-in
// may take, under HMAC names like the index's, and Save refuses a new
// session it names.
const (
	loggedOutSubPrefix = "portcullis:out:sub:" // + hex HMAC-SHA256("sub", iss, sub): when the user was last logged out (µs)
	loggedOutSIDPrefix = "portcullis:out:sid:" // + hex HMAC-SHA256("sid", iss, sid): the provider session was logged out
	// loggedOutTTL outlives every sign-in begun before the logout: its login
	// state is accepted for LoginStateTTL, and its code exchange and
	// directory reads take a little longer.
	loggedOutTTL = LoginStateTTL + 2*time.Minute
)

// recordLogout remembers, for loggedOutTTL, that the sessions of (iss, v)
// of kind indexSub or indexSID were ended now. It runs before the sessions
// are looked up: a sign-in whose session the lookup misses then finds the
// marker (refuseLoggedOut runs after its session is indexed).
func (s *RedisStore) recordLogout(ctx context.Context, prefix, kind, iss, v string) error {
	key := s.index.write(prefix, kind, iss, v)
	// The TTL starts again: the marker's age (loggedOutTTL less its PTTL) is
	// how long ago the latest logout was, as Redis measures it
	// (refuseLoggedOut). The value, this process's time in µs, is read only
	// by versions before this one during a rolling upgrade, which compared
	// it with the sign-in's start: from a host whose clock was behind (that
	// of `sessions revoke --sub`), the logout missed the sign-ins under way.
	at := strconv.FormatInt(s.cfg.Now().UnixMicro(), 10)
	if err := s.client.Set(ctx, key, at, loggedOutTTL).Err(); err != nil {
		return fmt.Errorf("session: redis delete: remembering the logout: %w", err)
	}
	return nil
}

// afterMarker runs del, the deletion of a logout's sessions, once
// recordLogout has returned mark. A Redis that answered the marker with an
// error (full under noeviction, a read-only replica, an ACL) may still
// delete: UNLINK is allowed when full, and a sign-in under way cannot save
// its session while writes are refused. Failing before the deletion left
// every session of the logout served for as long as Redis stayed full.
// The marker's failure is still returned, so that the provider retries the
// logout and the operator is told. A Redis that did not answer is not
// asked again: that would double the logout's bound.
func afterMarker(mark error, del func() (int, error)) (int, error) {
	var reply redis.Error
	if mark != nil && !errors.As(mark, &reply) {
		return 0, mark
	}
	n, err := del()
	if err == nil && mark != nil {
		err = fmt.Errorf("%w (%d session(s) ended all the same)", mark, n)
	}
	return n, err
}

// refuseLoggedOut returns ErrLoggedOut when a logout recorded by
// recordLogout ends the new session of id whose sign-in began at since: its
// provider session (sid) was logged out, or its user (sub) was logged out
// after since. "After" compares two durations, each measured by one clock:
// the marker's age by Redis's (its TTL run down), the sign-in's by this
// gateway's (since to now), so no clock of another host (a replica, the
// host of `sessions revoke`) need agree with this one. Any other error
// means Redis could not say.
func (s *RedisStore) refuseLoggedOut(ctx context.Context, id *portcullis.Identity, since time.Time) error {
	var sidKeys, subKeys []string
	if sid := id.SessionID; sid != "" {
		sidKeys = s.index.read(loggedOutSIDPrefix, indexSID, id.Issuer, sid)
	}
	if sub := providerSubject(id); sub != "" {
		subKeys = s.index.read(loggedOutSubPrefix, indexSub, id.Issuer, sub)
	}
	pipe := s.client.Pipeline()
	sids := make([]*redis.IntCmd, len(sidKeys))
	for i, k := range sidKeys {
		sids[i] = pipe.Exists(ctx, k)
	}
	subs := make([]*redis.DurationCmd, len(subKeys))
	for i, k := range subKeys {
		subs[i] = pipe.PTTL(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("session: redis save: checking for a logout: %w", err)
	}
	for _, cmd := range sids {
		if cmd.Val() > 0 {
			return ErrLoggedOut
		}
	}
	signingIn := s.cfg.Now().Sub(since)
	for _, cmd := range subs {
		if loggedOutAfter(cmd.Val(), signingIn) {
			return ErrLoggedOut
		}
	}
	return nil
}

// loggedOutAfter reports whether a sub marker whose PTTL is pttl records a
// logout made within the last signingIn. PTTL says -2 for no marker; a
// marker without a TTL (-1), which this gateway never writes, refuses.
func loggedOutAfter(pttl, signingIn time.Duration) bool {
	switch {
	case pttl == -2:
		return false
	case pttl < 0:
		return true
	}
	return loggedOutTTL-pttl < signingIn
}

// queueSIDIndex adds to pipe, for a refreshed session stored at key, the
// writes that index it under the provider session (iss, sid) its identity
// names now, if any. The index is otherwise written at sign-in: a refresh
// whose ID token named another sid (a provider that moved the grant to
// another of its sessions) left the session out of that sid's set, and the
// provider's back-channel logout of it ended nothing while it answered
// 200. The sign-in's set keeps the session too, so a logout of either ends
// it. Adding a member already there, or one whose SET XX found no session,
// is harmless: lookups skip keys whose session is gone.
func (s *RedisStore) queueSIDIndex(ctx context.Context, pipe redis.Pipeliner, id *portcullis.Identity, key string, remaining time.Duration) {
	if id.SessionID == "" {
		return
	}
	idx := s.index.write(sidIndexPrefix, indexSID, id.Issuer, id.SessionID)
	pipe.SAdd(ctx, idx, key)
	extendTTL.Eval(ctx, pipe, []string{idx}, remaining.Milliseconds())
}

// refuseLoggedOutSID ends the refreshed session stored at key, whose
// identity id names the provider session (iss, sid), when a back-channel
// logout of that sid was recorded (recordLogout): a logout that ran before
// the refresh indexed the session under sid found nothing to end. It runs
// after the index write, in a round trip of its own (a Cluster orders no
// commands across nodes), as refuseLoggedOut does after a sign-in's, so a
// logout either finds the session or left its marker for this check. A
// marker can name no live session's sid: the logout ended the sessions it
// indexed, and refuses sign-ins of that sid for as long as it lasts. The
// session is gone on return of ErrNoSession, as after a sign-out during the
// refresh; any other error means Redis could not say.
func (s *RedisStore) refuseLoggedOutSID(ctx context.Context, id *portcullis.Identity, key string) error {
	if id.SessionID == "" {
		return nil
	}
	cmds, err := s.getBatch(ctx, s.index.read(loggedOutSIDPrefix, indexSID, id.Issuer, id.SessionID))
	if err != nil {
		return fmt.Errorf("session: redis save: checking for a logout: %w", err)
	}
	for _, cmd := range cmds {
		if errors.Is(cmd.Err(), redis.Nil) {
			continue
		}
		if err := s.client.Unlink(context.WithoutCancel(ctx), key).Err(); err != nil {
			return fmt.Errorf("session: redis save: ending a session logged out during its refresh: %w", err)
		}
		return ErrNoSession
	}
	return nil
}
