package proxy

import (
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/portcullis/portcullis/internal/cache"
	"github.com/portcullis/portcullis/session"
)

// refresher single-flights refreshes per session and remembers recent
// results for a short time.
type refresher struct {
	group singleflight.Group
	// revokes runs one revocation per refresh token at a time (revokeRefresh).
	revokes singleflight.Group
	once    sync.Once
	recent  *cache.Cache[[32]byte, recentRefresh] // by SHA-256 of the session key, for refreshReuse
	// links are the rotations of cookie-store refresh tokens (rotated), and
	// killed the refresh tokens refused or revoked (markDead), each apart
	// from recent, whose refreshed sessions would crowd them out, and for
	// deadRefreshTTL. Both are shared by every generation a reload makes
	// (inherit): they name tokens, not configuration, and an open
	// connection is checked by the generation in force.
	links  *cache.Cache[[32]byte, [2][32]byte]
	killed *cache.Cache[[32]byte, struct{}]
}

type recentRefresh struct {
	prevAT string // the access token of the session the refresh replaced
	s      *session.Session
}

// Bounds of the recent-refresh memory, of the rotation links and of the
// dead refresh tokens (docs/security.md, "Memory bounds").
const (
	recentRefreshEntries = 10000
	recentRefreshBytes   = 32 << 20
	rotationLinks        = 10000
	rotationLinkBytes    = 2 << 20
	deadRefreshTokens    = 10000
	deadRefreshBytes     = 2 << 20
)

// memory returns the recent-refresh cache, made on first use with the
// handler's clock.
func (f *refresher) memory(now func() time.Time) *cache.Cache[[32]byte, recentRefresh] {
	f.once.Do(func() {
		f.recent = cache.New(cache.Options[[32]byte, recentRefresh]{
			MaxEntries: recentRefreshEntries, MaxBytes: recentRefreshBytes, TTL: refreshReuse, Now: now,
			Size: func(_ [32]byte, e recentRefresh) int { return len(e.prevAT) + e.s.MemorySize() },
		})
	})
	return f.recent
}

// lookup returns the session a recent refresh of key produced, but only to a
// request that still carries the session it replaced (access token prevAT):
// a session refreshed since then needs a refresh of its own.
func (f *refresher) lookup(key, prevAT string, now func() time.Time) *session.Session {
	m := f.memory(now)
	e, ok := m.Get(sha256.Sum256([]byte(key)))
	if !ok || e.prevAT != prevAT {
		return nil
	}
	if _, ended := m.Get(markerKey("ended", e.s.RefreshToken)); ended {
		return nil // signed out since: the result is not handed to older copies
	}
	return e.s
}

// ended records that the session holding refresh token rt was signed out,
// so that a remembered refresh that produced it is no longer handed out
// (for refreshReuse, on this replica).
func (f *refresher) ended(rt string, now func() time.Time) {
	if rt != "" {
		f.memory(now).Set(markerKey("ended", rt), recentRefresh{s: &session.Session{}})
	}
}

// wasEnded reports whether the session holding refresh token rt was
// signed out or replaced on this replica (ended) within refreshReuse.
func (f *refresher) wasEnded(rt string, now func() time.Time) bool {
	if rt == "" {
		return false
	}
	_, ok := f.memory(now).Get(markerKey("ended", rt))
	return ok
}

// keptGrant records that the session holding rt was replaced by a sign-in
// of the same provider user, whose new session shares rt's grant at some
// providers (endReplaced): a refresh of rt overtaken by that sign-in does
// not revoke the token it was issued.
func (f *refresher) keptGrant(rt string, now func() time.Time) {
	if rt != "" {
		f.memory(now).Set(markerKey("grant-kept", rt), recentRefresh{s: &session.Session{}})
	}
}

// grantKept reports keptGrant(rt).
func (f *refresher) grantKept(rt string, now func() time.Time) bool {
	_, ok := f.memory(now).Get(markerKey("grant-kept", rt))
	return rt != "" && ok
}

// groupsEnded records that the directory read memo (rereadGroups) ended
// a cookie-store session, for refreshReuse: a copy of its cookie gets that
// answer, not another read.
func (f *refresher) groupsEnded(memo string, now func() time.Time) {
	f.memory(now).Set(markerKey("groups-ended", memo), recentRefresh{s: &session.Session{}})
}

// endedByGroups reports whether the directory read memo ended its session
// (groupsEnded).
func (f *refresher) endedByGroups(memo string, now func() time.Time) bool {
	_, ok := f.memory(now).Get(markerKey("groups-ended", memo))
	return ok
}

// markDead records that refresh token rt was refused by the provider or
// revoked, for deadRefreshTTL: no request asks the provider about it again.
func (f *refresher) markDead(rt string) {
	if rt != "" {
		f.killed.Set(markerKey("dead", rt), struct{}{})
	}
}

// markRevoked records that rt was revoked at the provider (a sign-out's
// RFC 7009 call it answered), for deadRefreshTTL. Dead alone does not say
// so: a token is dead here too when its session ended while the provider
// could not be reached (endUnrefreshed), and the provider still takes it.
func (f *refresher) markRevoked(rt string) {
	if rt != "" {
		f.killed.Set(markerKey("revoked", rt), struct{}{})
	}
}

// revoked reports whether rt was revoked at the provider (markRevoked).
func (f *refresher) revoked(rt string) bool {
	return rt != "" && f.marked(markerKey("revoked", rt))
}

// markDeadFirst is markDead, reporting whether rt was not marked already
// (a false from Add with no marker means it could not be stored: first).
func (f *refresher) markDeadFirst(rt string, now time.Time) bool {
	k := markerKey("dead", rt)
	return f.killed.Add(k, struct{}{}, now.Add(deadRefreshTTL)) || !f.marked(k)
}

// dead reports whether rt was marked dead (markDead).
func (f *refresher) dead(rt string) bool {
	if rt == "" {
		return false
	}
	return f.marked(markerKey("dead", rt))
}

// newRotationLinks makes the memory of rotations (refresher.links).
func newRotationLinks(now func() time.Time) *cache.Cache[[32]byte, [2][32]byte] {
	return cache.New(cache.Options[[32]byte, [2][32]byte]{
		MaxEntries: rotationLinks, MaxBytes: rotationLinkBytes, TTL: deadRefreshTTL, Now: now,
	})
}

// newDeadTokens makes the memory of dead refresh tokens (refresher.killed).
func newDeadTokens(now func() time.Time) *cache.Cache[[32]byte, struct{}] {
	return cache.New(cache.Options[[32]byte, struct{}]{
		MaxEntries: deadRefreshTokens, MaxBytes: deadRefreshBytes, TTL: deadRefreshTTL, Now: now,
	})
}

// inherit gives f the rotation links and the dead refresh tokens of prev,
// the handler in force when a reload builds f's (Config.Live), or new
// ones. Both name tokens, not configuration: a link only leads a watch to
// a token a sign-out may kill, and a dead marker only refuses, so neither
// lets a session through under any configuration, a changed provider or
// secret included. The rest of the recent-refresh memory is not carried:
// its refreshed sessions were made under prev's provider and store. A
// reload that started empty lost every rotation and every sign-out made
// before it: a connection checked by the new generation watched a token
// no marker named any more and stayed open to the session's lifetime.
func (f *refresher) inherit(prev *Handler, now func() time.Time) {
	if prev != nil && prev.refresher.links != nil && prev.refresher.killed != nil {
		f.links, f.killed = prev.refresher.links, prev.refresher.killed
		return
	}
	f.links, f.killed = newRotationLinks(now), newDeadTokens(now)
}

// rotated records, for deadRefreshTTL, that refresh token rt was replaced
// by next (a provider that rotates refresh tokens), so that an open
// connection of a cookie that still holds rt follows its session to next
// (recheckCookie): a sign-out or refused refresh of the session marks
// next dead; rt is marked only when a stale copy of the cookie presents
// it again and the provider refuses it (which a provider that detects
// reuse answers by revoking the grant, next included).
func (f *refresher) rotated(rt, next string) {
	if rt != "" && next != "" && next != rt {
		f.links.Set(markerKey("next", rt), watchKeys(next))
	}
}

// successor returns the marker keys (watchKeys) of the refresh token that
// replaced the one whose "next" marker key is k (rotated), if recorded.
func (f *refresher) successor(k [32]byte) ([2][32]byte, bool) {
	return f.links.Get(k)
}

// watchKeys are the "dead" and "next" marker keys of refresh token rt.
func watchKeys(rt string) [2][32]byte {
	return [2][32]byte{markerKey("dead", rt), markerKey("next", rt)}
}

// marked reports whether the "dead" marker key (markerKey) is set.
func (f *refresher) marked(key [32]byte) bool {
	_, ok := f.killed.Get(key)
	return ok
}

// failed records that a refresh with rt failed without a verdict on it
// (the provider or the store unreachable), for refreshRetry.
func (f *refresher) failed(rt string, now func() time.Time) {
	if rt != "" {
		f.memory(now).SetUntil(markerKey("retry", rt), recentRefresh{s: &session.Session{}}, now().Add(refreshRetry))
	}
}

// retryLater reports whether a refresh with rt failed within refreshRetry.
func (f *refresher) retryLater(rt string, now func() time.Time) bool {
	_, ok := f.memory(now).Get(markerKey("retry", rt))
	return ok
}

// markerKey is the key of a marker of kind about refresh token rt: "ended"
// and "retry" in the recent-refresh memory (apart from every remembered
// refresh's key), "dead" in refresher.killed, "next" in refresher.links.
func markerKey(kind, rt string) [32]byte { return sha256.Sum256([]byte(kind + "\x00" + rt)) }

func (f *refresher) remember(key, prevAT string, s *session.Session, now func() time.Time) {
	// Hashed: the key of a cookie-store session is its refresh token.
	f.memory(now).Set(sha256.Sum256([]byte(key)), recentRefresh{prevAT: prevAT, s: s})
}
