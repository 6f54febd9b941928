package proxy

import (
	"log/slog"
	"net/http"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// presentedSession is the session whose cookie the browser presented, with
// its tokens, read before a sign-in replaces it; nil when none opens (no
// cookie, a stale one, one sealed with another secret), when it is a copy
// of a session this gateway already ended (its refresh token refused here:
// a start ended it, and the browser kept the cookie), or when the store
// cannot be asked (the line says so; the sign-in goes on, and the new
// session still replaces the cookie).
func (h *Handler) presentedSession(r *http.Request) *session.Session {
	s, err := h.signOutSession(r)
	if err != nil {
		h.log.Warn("proxy: reading the session a sign-in replaces failed", logattr.Err(err))
		return nil
	}
	if s != nil && h.refresher.dead(s.RefreshToken) {
		return nil
	}
	return s
}

// endPresented ends, in the store, the session whose cookie r presented
// (with Redis, its record: every copy of its cookie), once the session of
// a new sign-in was saved over it. It writes no cookie: Save has set the
// new session's and cleared the chunks it does not use, which an expiry
// written now would clear again.
func (h *Handler) endPresented(r *http.Request) error {
	return h.cfg.Sessions.Delete(cookieSink{}, r)
}

// cookieSink is a ResponseWriter whose headers (a Delete's expired
// cookies) go nowhere.
type cookieSink struct{}

func (cookieSink) Header() http.Header         { return http.Header{} }
func (cookieSink) Write(b []byte) (int, error) { return len(b), nil }
func (cookieSink) WriteHeader(int)             {}

// endAtStart ends the session whose cookie a start of a sign-in presented
// (the browser's cookie cleared, the Redis record deleted), with one line
// naming its user, as a sign-out does, but keeps its grant at the
// provider: whoever signs in next is most often the same user, and at
// Google revoking the token ends the user's grant to the client on every
// device (as a sign-out does, which is where revocation belongs). The
// token is refused here from now on ("kept"). A sign-in abandoned or
// failed leaves the user signed out, as the start promised. As a sign-out,
// it is carried out whether or not the browser waits for the answer
// (detached): with the request's context, a client gone left the session
// in Redis.
func (h *Handler) endAtStart(ex *exchange, r *http.Request) {
	dr, release := detached(r)
	defer release()
	old := h.presentedSession(dr)
	err := h.cfg.Sessions.Delete(ex, dr)
	if old == nil {
		h.unreadNotEnded(err, "proxy: clearing the session at login start failed")
		return
	}
	h.endReplaced(dr, old, nil, "", err)
}

// unreadNotEnded logs (msg) and counts a presented session that could be
// neither read nor ended (err, the Delete's: a Redis store that cannot be
// asked), as a sign-out the store could not carry out is counted.
func (h *Handler) unreadNotEnded(err error, msg string) {
	if err == nil {
		return
	}
	h.metrics.logout("replaced", "store_failed")
	h.log.Warn(msg, logattr.Err(err))
}

// endReplaced ends old, the session a start (id nil) or a successful
// sign-in of id (refresh token newRT) replaced, as a sign-out ends it: its
// Redis record was deleted (deleteErr: the store could not), its refresh
// token is revoked and refused here, and one line names its user and what
// became of the token. A token replaced at a start, or by a sign-in of the
// same provider user, is not revoked: at Google (and Auth0, Keycloak
// before 26.1) it shares the new sign-in's grant, whose revocation ended
// the new session at its first refresh (and every other device's); it is
// only refused here ("kept", "same_user").
func (h *Handler) endReplaced(r *http.Request, old *session.Session, id *portcullis.Identity, newRT string, deleteErr error) {
	if old == nil || !h.firstToReplace(r, old) {
		return
	}
	rt := old.RefreshToken
	outcome := "none"
	switch {
	case rt == "" || rt == newRT:
	case id == nil || sameProviderUser(&old.Identity, id):
		h.refresher.keptGrant(rt, h.now)
		h.refresher.ended(rt, h.now)
		h.refresher.markDead(rt)
		outcome = "same_user"
		if id == nil {
			outcome = "kept"
		}
	default:
		h.refresher.ended(rt, h.now)
		outcome = h.revokeRefresh(r, old)
	}
	attrs := []any{subAttr(old.Identity.Subject), slog.String("refresh_token", outcome)}
	if deleteErr != nil {
		h.metrics.logout("replaced", "store_failed")
		h.log.Warn("proxy: session replaced by a new sign-in, but the session store could not end it",
			append(attrs, logattr.Err(deleteErr))...)
		return
	}
	h.metrics.logout("replaced", "ended")
	h.log.Info("proxy: session replaced by a new sign-in", attrs...)
}

// firstToReplace reports whether this callback is the first to end old, a
// Redis session: two tabs that complete a sign-in each at once present its
// cookie both, and each wrote the line, counted it and tried the
// revocation. A store that cannot be asked says yes: a line twice rather
// than a token left valid. The key is hashed by the store, never the ID.
func (h *Handler) firstToReplace(r *http.Request, old *session.Session) bool {
	if h.replay == nil || old.ID == "" {
		return true
	}
	first, err := h.replay.FirstUse(r.Context(), replacedKey+old.ID, session.LoginStateTTL)
	return first || err != nil
}

// replacedKey prefixes a replaced session among the replay guard's keys.
const replacedKey = "session-replaced\x00"

// sameProviderUser reports whether a and b are one user at one provider:
// the issuer and the provider's sub (else the user_claim value).
func sameProviderUser(a, b *portcullis.Identity) bool {
	return a.Issuer == b.Issuer && providerSub(a) == providerSub(b)
}

// providerSub is id's sub at its provider: ProviderSubject, else the sub
// claim (sessions saved before ProviderSubject existed), else Subject.
func providerSub(id *portcullis.Identity) string {
	if id.ProviderSubject != "" {
		return id.ProviderSubject
	}
	if sub, _ := id.Claims["sub"].(string); sub != "" {
		return sub
	}
	return id.Subject
}
