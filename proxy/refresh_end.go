package proxy

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// endUnrefreshed ends the request's session, full, whose access token has
// expired and whose refresh failed with err without the provider's verdict
// on the refresh token (the provider unreachable, a 5xx, a timeout): a
// session ends when its access token has expired and cannot be refreshed
// (docs/sessions.md "Refresh"). Before, it was kept, and its cookie worked
// again once the provider was back, however long the outage had lasted.
//
// It ends the session only while the store still holds the one whose token
// expired, checked as refreshOnce checks before a refresh: under the
// session's lock, by its tokens and expiry (refreshedSince). Another
// replica's refresh that landed meanwhile is used instead (returned), and
// one still under way (the lock held elsewhere) decides: this request is
// unauthenticated and ends nothing. The refresh token is remembered as dead (markDeadFirst): a copy
// of a cookie-store cookie, which the cleared cookie does not end, is not
// refreshed again by this replica once the provider is back.
func (h *Handler) endUnrefreshed(ex *exchange, r *http.Request, full *session.Session, err error) (*session.Session, error) {
	dr, release := detached(r)
	defer release()
	unlock, acquired, lerr := h.cfg.Sessions.Lock(dr.Context(), full.ID, refreshLockTTL)
	switch {
	case lerr != nil:
		return nil, errStore{lerr}
	case !acquired:
		return nil, nil // another request or replica is refreshing it
	}
	defer unlock()
	cur, cerr := h.loadFull(dr, full)
	switch {
	case errors.Is(cerr, session.ErrNoSession):
		// Ended meanwhile: only this request's cookie is left to clear.
	case cerr != nil:
		return nil, errStore{cerr}
	case refreshedSince(cur, full):
		return cur, nil // refreshed elsewhere since this request read it
	case !h.refresher.markDeadFirst(full.RefreshToken, h.now()):
		// Another request that shared this failed refresh ended it (the
		// cookie store's lock always acquires): this one clears its own
		// cookie only, without a second line.
	default:
		h.log.Warn("proxy: session ended: its access token expired and the provider could not refresh it",
			subAttr(full.Identity.Subject), slog.String("reason", "provider unreachable"), logattr.Err(err))
	}
	if derr := h.cfg.Sessions.Delete(ex, dr); derr != nil {
		h.log.Warn("proxy: deleting a session whose access token expired unrefreshed failed", logattr.Err(derr))
		return nil, errStore{derr}
	}
	return nil, nil
}
