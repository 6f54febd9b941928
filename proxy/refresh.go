package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

const (
	// refreshTimeout bounds how long a request waits on the provider for a
	// refresh: no request waits more than a few seconds.
	refreshTimeout = 5 * time.Second
	// refreshReuse is how long a refreshed session is handed to requests
	// that still carry the cookie it replaced, so that a rotated refresh
	// token is never presented twice.
	refreshReuse = 30 * time.Second
	// deadRefreshTTL is how long a refresh token that the provider refused
	// (invalid_grant) or that a sign-out revoked is remembered as dead: a
	// copy of a cookie-store cookie that carries it, which stays readable
	// until the session's lifetime, then costs no token or revocation
	// request, however often it is sent.
	deadRefreshTTL = 10 * time.Minute
	// refreshRetry is the least time between two refresh attempts of one
	// session whose access token is still valid after one failed (the
	// provider unreachable): the requests in between use the access token
	// instead of each asking the provider again.
	refreshRetry = 5 * time.Second
	// unstatedAccessLife is how long an access token is taken to live when
	// the refresh answer that brought it states no expiry (expires_in
	// missing, zero or negative) although the session's had one: the
	// session is refreshed again then (or at twice refresh_margin, if
	// longer), so that a revocation at the provider still ends it at its
	// next refresh, not at its lifetime.
	unstatedAccessLife = 5 * time.Minute
	// maxHandOns bounds how many remembered refreshes a request follows
	// from its cookie's session to the latest (refresh): a provider that
	// answers a refresh with the tokens it had issued makes a remembered
	// refresh its own successor.
	maxHandOns = 4
	// commitTimeout bounds the store writes and the revocation a request
	// carries out after its client may have hung up (detached).
	commitTimeout = 10 * time.Second
	// refreshLockTTL is how long a refresh's lock lives unless released: as
	// long as its holder may still be working, the provider's bound and then
	// the save's. Shorter, a holder whose save Redis was slow to take lost
	// the lock while the store still held the spent refresh token, and
	// another replica presented that token again.
	refreshLockTTL = refreshTimeout + commitTimeout
)

// detached returns r with a context its client cannot cancel, bounded by
// commitTimeout, and the function that releases it. It is for what must
// be carried out once started: saving a refresh's result (the provider has
// rotated the refresh token: the old one in the store is spent), and a
// sign-out (the session ended in the store, its refresh token revoked). Under
// the client's own context, a browser that navigated away or closed its tab
// at that moment left a spent refresh token in Redis (the session then ended
// at its next refresh) or a signed-out session alive.
func detached(r *http.Request) (*http.Request, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), commitTimeout)
	return r.WithContext(ctx), cancel
}

// errStore marks a refresh that failed because the session store could
// not be asked (not the provider): with an expired access token the request
// is a 503 (docs/security.md, fail closed), never an anonymous pass.
type errStore struct{ error }

func (e errStore) Unwrap() error { return e.error }

// fresh returns s, refreshed when its access token is within RefreshMargin
// of expiry (docs/sessions.md "Refresh"), or nil when the session no longer yields an
// identity: the refresh token was refused, or the access token has expired
// and could not be refreshed (the session is then ended). An error means
// the store could not be asked for a session whose access token has
// expired. s may be the store's copy without tokens (session.Session.Elided):
// the refresh reads the full session first.
func (h *Handler) fresh(ex *exchange, r *http.Request, s *session.Session) (*session.Session, error) {
	if s.Expiry.IsZero() {
		return s, nil
	}
	now := h.now()
	if now.Add(h.cfg.RefreshMargin).Before(s.Expiry) {
		return s, nil
	}
	expired := !now.Before(s.Expiry)
	if !h.cfg.Refresh || !s.CanRefresh() {
		if expired {
			return nil, nil
		}
		return s, nil
	}
	full, err := h.cfg.Sessions.Full(r, s)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return nil, nil // ended meanwhile (another replica signed it out)
	case err != nil:
		h.log.Warn("proxy: reading the session's tokens for a refresh failed", subAttr(s.Identity.Subject), logattr.Err(err))
		if expired {
			return nil, err
		}
		return s, nil
	case now.Add(h.cfg.RefreshMargin).Before(full.Expiry):
		return full, nil // refreshed by another replica since the store's copy was made
	}
	var ns *session.Session
	switch {
	case h.refresher.dead(full.RefreshToken):
		err = idp.ErrInvalidGrant // refused or revoked before: the provider is not asked again
	case !expired && h.refresher.retryLater(full.RefreshToken, h.now):
		// A refresh failed moments ago: the provider is not asked again
		// before refreshRetry while the access token is valid. An expired
		// one is asked: a refresh that fails then ends the session
		// (endUnrefreshed), so it is asked once.
		return s, nil
	default:
		ns, err = h.refresh(ex, r, full)
	}
	return h.refreshed(ex, r, s, full, ns, expired, err)
}

// refreshed is fresh's answer once the refresh of full (s with its
// tokens) gave ns or err; expired: s's access token has expired.
func (h *Handler) refreshed(ex *exchange, r *http.Request, s, full, ns *session.Session, expired bool, err error) (*session.Session, error) {
	var storeErr errStore
	switch {
	case err == nil:
		return ns, nil
	case errors.Is(err, idp.ErrInvalidGrant):
		h.endRefused(ex, r, full, err)
		return nil, nil
	case expired && errors.As(err, &storeErr):
		return nil, err
	case expired:
		return h.endUnrefreshed(ex, r, full, err)
	default:
		h.refresher.failed(full.RefreshToken, h.now)
		return s, nil // provider unreachable; the access token is still valid
	}
}

// endRefused ends s, whose refresh was refused (err): its token is dead
// here and the store forgets it. The cookies are cleared, unless s ended
// during the refresh (errOvertaken): the browser holds another session by
// the time this answer reaches it (the sign-in over s), or none.
func (h *Handler) endRefused(ex *exchange, r *http.Request, s *session.Session, err error) {
	h.refresher.markDead(s.RefreshToken)
	dr, release := detached(r)
	defer release()
	var w http.ResponseWriter = ex
	if errors.Is(err, errOvertaken) {
		w = cookieSink{}
	}
	if derr := h.cfg.Sessions.Delete(w, dr); derr != nil {
		h.log.Warn("proxy: deleting a session whose refresh was refused failed", logattr.Err(derr))
	}
}

// refresh refreshes s, a full session (its refresh token is the
// single-flight key), once per session however many requests ask at the
// same time (singleflight in this process, the store's lock across
// replicas), bounded by refreshTimeout.
func (h *Handler) refresh(ex *exchange, r *http.Request, s *session.Session) (*session.Session, error) {
	carried := s
	s, served, err := h.handOn(ex, r, s)
	if served || err != nil {
		return s, err
	}
	// One refresh per refresh token: a token is never presented twice.
	key := s.RefreshToken
	leader, stored := false, false
	v, err, _ := h.refresher.group.Do(key, func() (any, error) {
		leader = true
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refreshTimeout)
		defer cancel()
		ns, err := h.refreshOnce(ctx, r.WithContext(ctx), carried, s, func(ns *session.Session) error {
			stored = true
			// Its own bound: the provider may have used up ctx's.
			dr, release := detached(r)
			defer release()
			return h.saveRefreshedRetrying(ex, dr, ns)
		})
		if err == nil {
			h.refresher.remember(key, s.AccessToken, ns, h.now)
			if !ns.ServerSide() {
				h.refresher.rotated(key, ns.RefreshToken)
			}
		}
		return ns, err
	})
	if err != nil {
		return h.handedOnFailed(ex, r, s != carried, s, err)
	}
	ns := v.(*session.Session)
	// The leader saved unless another replica's result came back; a
	// follower saves only a session its own response must carry.
	if (leader && !stored) || (!leader && !ns.ServerSide()) {
		h.saveRefreshed(ex, r, ns)
	}
	return ns, nil
}

// handOn follows the refreshes this replica remembers from s, the
// request's session: the request may carry a cookie a recent refresh
// replaced, and it gets that refresh's result, decided as that result's own
// cookie would be. served reports that the returned session is the
// request's as it is; otherwise it is the one to refresh (s, or a handed-on
// refresh that is due itself). Handed on as it was, a session that had
// ended since opened to the older cookie for the rest of refreshReuse (one
// whose access token had expired included), and another replica's refusal
// of its refresh token was never asked about.
func (h *Handler) handOn(ex *exchange, r *http.Request, s *session.Session) (_ *session.Session, served bool, _ error) {
	for range maxHandOns {
		ns := h.refresher.lookup(s.RefreshToken, s.AccessToken, h.now)
		switch {
		case ns == nil:
			return s, false, nil
		case h.refresher.dead(ns.RefreshToken):
			return nil, false, idp.ErrInvalidGrant // refused, revoked or expired unrefreshed
		case ns.Expiry.IsZero() || h.now().Add(h.cfg.RefreshMargin).Before(ns.Expiry),
			h.now().Before(ns.Expiry) && h.refresher.retryLater(ns.RefreshToken, h.now):
			// Not due, or due and valid with its refresh failed moments
			// ago (fresh's rule: the provider is not asked again yet).
			h.saveRefreshed(ex, r, ns)
			return ns, true, nil
		}
		s = ns // due itself: refreshed in turn, or a later refresh of it handed on
	}
	return s, false, nil
}

// handedOnFailed decides a failed refresh of s, handedOn when s is a
// refresh handed on to the request's older cookie (handOn) rather than
// the request's own session, whose failures fresh decides.
func (h *Handler) handedOnFailed(ex *exchange, r *http.Request, handedOn bool, s *session.Session, err error) (*session.Session, error) {
	switch {
	case !handedOn:
		return nil, err
	case errors.Is(err, idp.ErrInvalidGrant):
		// Its token refused: not presented again by its own cookie
		// either (fresh marks the cookie's).
		h.refresher.markDead(s.RefreshToken)
		return nil, err
	case h.now().Before(s.Expiry):
		// Not refreshed, but valid: served as its own cookie would be,
		// not taken for the expired session the request carried, which
		// such a failure ends.
		h.refresher.failed(s.RefreshToken, h.now)
		h.saveRefreshed(ex, r, s)
		return s, nil
	}
	return nil, err
}

// refreshOnce refreshes s, which is carried (the request's session) or a
// refresh of it handed on, at the provider under the store's lock (session.Locker;
// the cookie store's always acquires at once). Under the lock, the refreshed
// session is saved (save) before the lock is released: otherwise another
// replica could take the lock in between, still load the old session and
// present its refresh token, which a provider that rotates refresh tokens
// refuses with invalid_grant.
func (h *Handler) refreshOnce(ctx context.Context, r *http.Request, carried, s *session.Session, save func(*session.Session) error) (*session.Session, error) {
	unlock, acquired, err := h.cfg.Sessions.Lock(ctx, s.ID, refreshLockTTL)
	if err != nil {
		h.metrics.refresh("failed")
		return nil, errStore{err}
	}
	if !acquired {
		return h.awaitRefresh(ctx, r, s)
	}
	defer unlock()
	// Another replica may have refreshed the session between our Load and
	// our lock: its refresh token may be spent already. What the store
	// holds is compared with carried too: with the cookie store it is the
	// request's cookie, the older session when s was handed on (refresh),
	// which is no refresh of s.
	cur, err := h.loadFull(r, s)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return nil, idp.ErrInvalidGrant // ended elsewhere meanwhile
	case err != nil:
		h.metrics.refresh("failed")
		return nil, errStore{err}
	case refreshedSince(cur, s) && refreshedSince(cur, carried):
		return cur, nil
	}
	ns, err := h.refreshAtProvider(ctx, s)
	if errors.Is(err, idp.ErrInvalidGrant) {
		if cur := h.rotatedElsewhere(r, s, carried.RefreshToken); cur != nil {
			return cur, nil
		}
	}
	if err != nil {
		return nil, err
	}
	if err := h.saveUnlessEnded(s, ns, save); errors.Is(err, session.ErrNoSession) {
		h.overtaken(ctx, s, ns)
		return nil, errOvertaken
	}
	return ns, nil
}

// errOvertaken is the refusal of a refresh whose session ended (a
// sign-out, a new sign-in over it, a revocation) while the provider
// answered. The request's cookie is then no longer the browser's own
// session: its answer writes no cookie (fresh), which, after a sign-in
// over it, expired the new session's.
var errOvertaken = fmt.Errorf("%w: the session ended during its refresh", idp.ErrInvalidGrant)

// saveUnlessEnded saves ns, the refresh of s, unless s ended on this
// replica meanwhile (refresher.ended): a store that keeps nothing
// server-side (cookies) cannot say so, and the refreshed cookie was set
// over the one of the sign-in that replaced s.
func (h *Handler) saveUnlessEnded(s, ns *session.Session, save func(*session.Session) error) error {
	if h.refresher.wasEnded(s.RefreshToken, h.now) {
		return session.ErrNoSession
	}
	return save(ns)
}

// overtaken ends the refresh token ns, the refresh of s, was issued after
// s ended: the new tokens must not serve this request, and the new refresh
// token is revoked, as the sign-out revoked the one it read. Not when
// sign-outs keep the grant, nor when s was replaced by a sign-in of the
// same provider user (its grant is the new session's): no one holds the
// new token (it is refused here), and a revocation may end more than this
// session at the provider.
func (h *Handler) overtaken(ctx context.Context, s, ns *session.Session) {
	if ns.RefreshToken == "" || ns.RefreshToken == s.RefreshToken {
		return
	}
	if h.cfg.SignOutKeepsGrant || h.refresher.grantKept(s.RefreshToken, h.now) {
		h.refresher.markDead(ns.RefreshToken)
		return
	}
	h.revokeOvertaken(ctx, s, ns.RefreshToken)
}

// revokeOvertaken revokes rt, the refresh token a refresh of s was issued
// after s ended, and logs what became of it as a sign-out's line does:
// the provider records a revocation, which had a line here only when it
// failed.
func (h *Handler) revokeOvertaken(ctx context.Context, s *session.Session, rt string) {
	const msg = "proxy: the refresh token issued to a session ended during its refresh"
	if !h.logout.Revocable() {
		h.log.Info(msg, subAttr(s.Identity.Subject), slog.String("refresh_token", "not_revocable"))
		return
	}
	if err := h.logout.Revoke(context.WithoutCancel(ctx), rt); err != nil {
		h.log.Warn(msg, subAttr(s.Identity.Subject), slog.String("refresh_token", "failed"), logattr.Err(err))
		return
	}
	h.log.Info(msg, subAttr(s.Identity.Subject), slog.String("refresh_token", "revoked"))
}

// rotatedElsewhere returns s's session as stored now when its refresh
// token is no longer s's, the one the provider just refused: another
// replica refreshed it meanwhile (our lock was lost: it expired, or a Redis
// failover did not keep it), and the refusal is of a token that replica
// spent, not a revocation. nil otherwise, and when the store holds the
// refresh token the request carried (carriedRT; the cookie store: the
// request's own cookie).
func (h *Handler) rotatedElsewhere(r *http.Request, s *session.Session, carriedRT string) *session.Session {
	dr, release := detached(r)
	defer release()
	cur, err := h.loadFull(dr, s)
	if err != nil || cur.RefreshToken == s.RefreshToken || cur.RefreshToken == carriedRT {
		return nil
	}
	h.log.Info("proxy: a refresh token refused after another replica had refreshed the session; using its result", subAttr(cur.Identity.Subject))
	return cur
}

// awaitRefresh waits for another replica's refresh of s to land in the
// store, polling the request's session until its access token changes. When
// it gives up with the store's last answer an error, that is an errStore:
// the store, not the provider, is down (a 503 for an expired session).
func (h *Handler) awaitRefresh(ctx context.Context, r *http.Request, s *session.Session) (*session.Session, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var storeErr error
	for {
		select {
		case <-ctx.Done():
			if storeErr != nil {
				h.metrics.refresh("failed")
				return nil, errStore{storeErr}
			}
			return nil, ctx.Err()
		case <-t.C:
		}
		if ctx.Err() != nil {
			continue // the deadline passed during the last poll: no other one
		}
		ns, err := h.loadFull(r, s)
		switch {
		case errors.Is(err, session.ErrNoSession):
			return nil, idp.ErrInvalidGrant // the other replica ended it
		case err != nil:
			if ctx.Err() == nil {
				storeErr = err
			} // else the deadline cut this poll short: it says nothing of the store
		case refreshedSince(ns, s):
			return ns, nil
		default:
			storeErr = nil
		}
	}
}

// refreshedSince reports whether cur, the request's session as stored now,
// is a refresh of s: any of its tokens or its expiry changed. The refresh
// token is what a refresh spends. Compared by the access token alone, a
// provider that answers a refresh with the access token it had issued
// (still valid) and a new refresh token left the other replica waiting for
// a change that had come, then presenting the spent refresh token again.
func refreshedSince(cur, s *session.Session) bool {
	return cur.AccessToken != s.AccessToken || cur.RefreshToken != s.RefreshToken || !cur.Expiry.Equal(s.Expiry)
}

// loadFull loads the session of the sign-in of (session.Login) as the
// request's cookies open it now, with its tokens (session.Store.Full).
func (h *Handler) loadFull(r *http.Request, of *session.Session) (*session.Session, error) {
	s, err := h.loadOf(r, session.LoginOf(of))
	if err != nil {
		return nil, err
	}
	return h.cfg.Sessions.Full(r, s)
}

// loadOf loads the request's session as it is stored now when it is of
// the sign-in l, else ErrNoSession: l's session has ended. The stores read
// the first cookie of the session's name that opens, so the cookies that
// opened l's then open the next one they carry, another sign-in's (another
// user's, a planted one), which is no copy of l's to refresh, to give the
// groups read for l's user, or to keep an upgraded connection of l's open
// with.
func (h *Handler) loadOf(r *http.Request, l session.Login) (*session.Session, error) {
	s, err := h.cfg.Sessions.Load(r)
	if err != nil {
		return nil, err
	}
	if !l.Of(s) {
		return nil, session.ErrNoSession
	}
	return s, nil
}
