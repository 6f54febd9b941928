package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

const (
	// defaultGroupsRefresh is provider.groups_refresh's default.
	defaultGroupsRefresh = 10 * time.Minute
	// groupsRetry is the least time between two failed directory reads of
	// one session (at most GroupsRefresh).
	groupsRetry = 30 * time.Second
	// groupsMaxStale bounds how long a session keeps groups it could not
	// read again (at least groups_refresh): a failure the user can cause
	// (GitHub's and Graph's rate limits are the user's own) must not keep a
	// removed group until session.lifetime.
	groupsMaxStale = time.Hour
)

// groupsReader is a provider whose groups come from a directory that is read
// again while a session lives (docs/providers/). *idp.Client implements it.
type groupsReader interface {
	DirectoryGroups(ctx context.Context, id *portcullis.Identity, accessToken string) ([]string, error)
}

var _ groupsReader = (*idp.Client)(nil)

// freshGroups returns s with its directory groups read again when they are
// older than GroupsRefresh, so that a member removed from a group loses
// access within that time. A failed read keeps the last groups (the session
// still ends at its lifetime or when its tokens do), logs, and is retried
// after groupsRetry. It returns nil when the session ended meanwhile. The
// read uses the full session (session.Store.Full): the user's access token,
// and the session saved with the groups. When the store cannot give it,
// the last groups are kept up to the same bound (groupsStale) as when the
// directory fails, and past it the error is returned: the request is
// refused as one whose session cannot be read.
func (h *Handler) freshGroups(ex *exchange, r *http.Request, s *session.Session) (*session.Session, error) {
	if s.GroupsReadAt.IsZero() {
		return s, nil // groups from the tokens (or no directory): the hot path
	}
	gr, ok := h.cfg.Provider.(groupsReader)
	if !ok {
		return s, nil
	}
	every := h.cfg.GroupsRefresh
	if every <= 0 {
		every = defaultGroupsRefresh
	}
	now := h.now()
	if now.Sub(s.GroupsReadAt) < every ||
		(!s.GroupsTriedAt.IsZero() && now.Sub(s.GroupsTriedAt) < min(groupsRetry, every)) {
		return s, nil
	}
	full, err := h.cfg.Sessions.Full(r, s)
	if err != nil {
		return h.groupsWithoutTokens(s, err, now, every)
	}
	return h.rereadGroups(ex, r, gr, full, now, every)
}

// groupsWithoutTokens decides a session whose tokens the store could not
// give for a directory read (err): nil when it ended meanwhile, the error
// when its groups are too old to keep (groupsStale), else s with its last
// groups.
func (h *Handler) groupsWithoutTokens(s *session.Session, err error, now time.Time, every time.Duration) (*session.Session, error) {
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil // ended meanwhile
	}
	if groupsStale(s, now, every) {
		return nil, fmt.Errorf("proxy: reading the session's tokens for a directory read, groups older than %s: %w",
			max(groupsMaxStale, every), err)
	}
	h.log.Warn("proxy: reading the session's tokens for a directory read failed; keeping the last groups read",
		subAttr(s.Identity.Subject), logattr.Err(err))
	return s, nil
}

// rereadGroups reads s's groups from the directory again, once for all the
// requests of one session at the same time (the refresher's singleflight),
// and returns the session with them; nil when the read ended the session.
// With the cookie store, each request's response carries the session it
// used, and a recent read is handed to a cookie it replaced.
func (h *Handler) rereadGroups(ex *exchange, r *http.Request, gr groupsReader, s *session.Session,
	now time.Time, every time.Duration) (*session.Session, error) {
	memo := "groups-read:" + s.AccessToken + "@" + s.GroupsReadAt.Format(time.RFC3339Nano)
	if !s.ServerSide() {
		// Cookie store: a client that sends the cookie a read replaced
		// again gets that read's session, or its ending, not another
		// directory read.
		if ns := h.refresher.lookup(memo, s.AccessToken, h.now); ns != nil {
			h.saveRefreshed(ex, r, ns)
			return ns, nil
		}
		if h.refresher.endedByGroups(memo, h.now) {
			h.endForGroups(ex, r)
			return nil, nil
		}
	}
	key := "groups:" + s.ID
	if s.ID == "" {
		key = "groups-at:" + s.AccessToken
	}
	leader := false
	v, _, _ := h.refresher.group.Do(key, func() (any, error) {
		leader = true
		return h.readGroups(ex, r, gr, s, now, every), nil
	})
	ns, _ := v.(*session.Session)
	switch {
	case ns == nil && leader && !s.ServerSide():
		h.refresher.groupsEnded(memo, h.now)
	case ns == nil && !leader:
		// The read ended the session: each request sharing it gets the
		// leader's answer, its cookie cleared, else the cookie store's
		// cookie came back with the next request and was read again.
		h.endForGroups(ex, r)
	case ns != nil && leader && !ns.ServerSide():
		h.refresher.remember(memo, s.AccessToken, ns, h.now)
	case ns != nil && !leader && !ns.ServerSide():
		// Cookie store: every response carries the session it used.
		h.saveRefreshed(ex, r, ns)
	}
	return ns, nil
}

// endForGroups clears the cookie of a request whose session a directory
// read ended, and ends it in the store (done already by the read, unless
// that failed).
func (h *Handler) endForGroups(ex *exchange, r *http.Request) {
	if err := h.cfg.Sessions.Delete(ex, r); err != nil {
		h.log.Warn("proxy: deleting a session after a directory read failed", logattr.Err(err))
	}
}

// readGroups is one directory read of s's groups, bounded by
// refreshTimeout and carried out if the client goes away: it saves the
// groups (storeGroups), keeps the last ones on a failure the session
// survives (groupsEndSession), or ends the session and returns nil.
func (h *Handler) readGroups(ex *exchange, r *http.Request, gr groupsReader, s *session.Session,
	now time.Time, every time.Duration) *session.Session {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refreshTimeout)
	defer cancel()
	groups, err := gr.DirectoryGroups(ctx, &s.Identity, s.AccessToken)
	if why := groupsEndSession(err, s, now, every); why != "" {
		h.log.Info("proxy: "+why+"; ending the session", subAttr(s.Identity.Subject), logattr.Err(err))
		h.endForGroups(ex, r)
		return nil
	}
	if err != nil {
		level := slog.LevelWarn
		var de *idp.DirectoryError
		if errors.As(err, &de) && de.Waiting() {
			level = slog.LevelDebug // the throttle was logged once, with its end
		}
		h.log.Log(ctx, level, "proxy: reading groups from the directory failed; keeping the last groups read",
			subAttr(s.Identity.Subject), "read_at", s.GroupsReadAt, logattr.Err(err))
	}
	return h.storeGroups(ctx, ex, r, s, groups, err, now)
}

// groupsStale reports whether s's groups are older than a session may keep
// groups it could not read again: groupsMaxStale, or groups_refresh when
// that is longer.
func groupsStale(s *session.Session, now time.Time, every time.Duration) bool {
	return now.Sub(s.GroupsReadAt) > max(groupsMaxStale, every)
}

// groupsEndSession says why a failed directory read ends the session, or
// "" when the session keeps its last groups: the directory refused the
// user's own token (the grant is gone), there is none, an organisation's
// SAML SSO withholds its data (as it fails a sign-in), the user's own
// reads are over their budget and the groups older than groups_refresh
// and the budget's window, or the groups are
// older than groupsMaxStale (a failure a user can cause must not keep a
// removed group until session.lifetime).
func groupsEndSession(err error, s *session.Session, now time.Time, every time.Duration) string {
	if err == nil {
		return ""
	}
	var de *idp.DirectoryError
	switch {
	case errors.Is(err, idp.ErrInvalidGrant) || (errors.As(err, &de) && de.EndsSession()):
		return "the directory refused the session's token"
	case errors.Is(err, idp.ErrUserReadBudget) && now.Sub(s.GroupsReadAt) > every+idp.UserReadWindow:
		// Within the user's reach, unlike an outage: signing in again and
		// again must not keep a group they were removed from for the stale
		// hour. Groups read within groups_refresh and the budget's window
		// stay: one active session with a groups_refresh under six seconds
		// (or several of the user's) spends the budget on its own, and its
		// next window's first read replaces them.
		return "the user's own directory reads are over their budget"
	case groupsStale(s, now, every):
		return "the directory could not be read and the groups are older than " + max(groupsMaxStale, every).String()
	}
	return ""
}

// storeGroups records a directory read (groups, or the failure err) on the
// session and saves it. With a store that locks across replicas, the change
// is applied under the lock to the session as stored now, so that a token
// refreshed meanwhile by another replica is not overwritten with an old one.
func (h *Handler) storeGroups(ctx context.Context, ex *exchange, r *http.Request, s *session.Session,
	groups []string, readErr error, now time.Time) *session.Session {
	apply := func(cur *session.Session) *session.Session {
		ns := cur.Clone()
		if readErr != nil {
			ns.GroupsTriedAt = now
			return ns
		}
		ns.Identity.Groups = groups
		ns.GroupsReadAt, ns.GroupsTriedAt = now, time.Time{}
		return ns
	}
	if !s.ServerSide() {
		ns := apply(s)
		h.saveRefreshed(ex, r, ns)
		return ns
	}
	unlock, acquired, err := h.cfg.Sessions.Lock(ctx, s.ID, refreshTimeout)
	if err != nil || !acquired {
		// Another replica is saving this session: use the result for this
		// request only.
		return apply(s)
	}
	defer unlock()
	cur, err := h.loadFull(r, s)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return nil // ended elsewhere meanwhile
	case err != nil:
		return apply(s)
	case cur.GroupsReadAt.After(s.GroupsReadAt):
		return cur // read by another replica meanwhile
	}
	ns := apply(cur)
	h.saveRefreshed(ex, r, ns)
	return ns
}
