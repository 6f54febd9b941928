package proxy

import (
	"net/http"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// stepUp sends a browser session that lacks a route's scopes back to the
// provider asking for the granted plus the missing scopes (incremental
// authorization), at most once per route per session within stepUpWindow.
func (h *Handler) stepUp(ex *exchange, r *http.Request) {
	if speculative(r.Header) {
		// Recorded, a prefetch's try left the user's click the 403 page.
		h.fail(ex, r, forbidden(speculativeLogin))
		return
	}
	d := &ex.dec
	key := d.route.Key()
	now := h.now()
	if at, ok := ex.sess.StepUps[key]; ok && now.Sub(at) < stepUpWindow {
		h.fail(ex, r, d.refusal(http.StatusNotFound))
		return
	}
	if !h.onPublicHost(ex) {
		// Its login-state cookie, host-only, would not reach public_url's
		// callback: the 403 names the missing scopes instead.
		h.fail(ex, r, d.refusal(http.StatusNotFound))
		return
	}
	scopes := unionScopes(ex.sess.Identity.Scopes, d.MissingScopes)
	if err := h.recordStepUp(ex, r, key, now); err != nil {
		h.log.Warn("proxy: recording a step-up attempt failed", "route", key, logattr.Err(err))
	}
	h.startLogin(ex, r, h.returnURL(ex), scopes, key)
}

// recordStepUp records a step-up attempt for route key on the request's
// session. It is recorded on the full session (the store's copy,
// session.Session.Elided, has no tokens to save). A Redis session is
// changed under the session's lock, as stored now, like a refresh and a
// directory read of groups: saved from the copy read before, it wrote the
// tokens of that copy back over a refresh another replica made meanwhile,
// a refresh token the provider had rotated away (the session then ended at
// its next refresh) and the identity from before the refresh.
func (h *Handler) recordStepUp(ex *exchange, r *http.Request, key string, now time.Time) error {
	mark := func(cur *session.Session) *session.Session {
		s := cur.Clone()
		if s.StepUps == nil {
			s.StepUps = make(map[string]time.Time, 1)
		}
		s.StepUps[key] = now
		return s
	}
	full, err := h.cfg.Sessions.Full(r, ex.sess)
	if err != nil {
		return err
	}
	if !full.ServerSide() {
		return h.cfg.Sessions.Save(ex, r, mark(full))
	}
	unlock, acquired, err := h.cfg.Sessions.Lock(r.Context(), full.ID, refreshTimeout)
	if err != nil {
		return err
	}
	if !acquired {
		return errSessionBusy
	}
	defer unlock()
	cur, err := h.loadFull(r, full)
	if err != nil {
		return err
	}
	return h.cfg.Sessions.Save(ex, r, mark(cur))
}
