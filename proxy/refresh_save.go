package proxy

import (
	"errors"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// saveRefreshedRetrying saves ns, a refresh the provider answered, as
// saveRefreshed does, and when a store that keeps sessions server-side
// fails (a failover, a timeout) tries again, at growing intervals, until
// the save succeeds, the session is found ended, or r's context ends (the
// commit's bound, within the refresh lock's TTL). The provider has spent the
// refresh token the store holds: a session left holding it was refused at
// its next refresh, on another replica or after refreshReuse on this one,
// and ended by a store failure of a second. A session past its lifetime is
// not tried again (its save fails the same way each time); the failure is
// logged once, by saveRefreshed.
func (h *Handler) saveRefreshedRetrying(ex *exchange, r *http.Request, ns *session.Session) error {
	return h.saveRefreshedWith(ex, r, ns, func() error {
		err := h.cfg.Sessions.Save(ex, r, ns)
		for wait := 100 * time.Millisecond; retrySave(err, ns, h.now()); wait = min(2*wait, time.Second) {
			t := time.NewTimer(wait)
			select {
			case <-r.Context().Done():
				t.Stop()
				return err
			case <-t.C:
			}
			err = h.cfg.Sessions.Save(ex, r, ns)
		}
		return err
	})
}

// retrySave reports whether a save of s that failed with err may succeed
// if tried again: a server-side session the store still holds, within its
// lifetime.
func retrySave(err error, s *session.Session, now time.Time) bool {
	return err != nil && s.ServerSide() && !errors.Is(err, session.ErrNoSession) && now.Before(s.ExpiresAt)
}

func (h *Handler) saveRefreshed(ex *exchange, r *http.Request, s *session.Session) error {
	return h.saveRefreshedWith(ex, r, s, func() error { return h.cfg.Sessions.Save(ex, r, s) })
}

// saveRefreshedWith is saveRefreshed with save as the store's Save.
func (h *Handler) saveRefreshedWith(ex *exchange, r *http.Request, s *session.Session, save func() error) error {
	err := save()
	if errors.Is(err, session.ErrNoSession) {
		// Not a failure: the store no longer holds the session (a sign-out,
		// a revocation or a new sign-in ended it meanwhile) and does not
		// recreate it; the caller ends the refresh's token.
		h.log.Info("proxy: a refreshed session was not saved: the session had ended meanwhile", subAttr(s.Identity.Subject))
		return err
	}
	if err != nil {
		h.log.Warn("proxy: saving a refreshed session failed", subAttr(s.Identity.Subject), logattr.Err(err))
		return err
	}
	h.warnChunkedAuthCookie(ex, r)
	return nil
}
