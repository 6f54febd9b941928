package proxy

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// defaultUpgradeRecheck is how often an upgraded connection's session or
// bearer token is looked up again (Config.UpgradeRecheck).
const defaultUpgradeRecheck = 10 * time.Second

// Why an upgraded connection was ended.
var (
	errUpgradeExpired = errors.New("the session or token expired")
	errUpgradeRevoked = errors.New("the session or token was revoked")
)

// upgradeWatch is what the watcher of one upgraded connection needs, copied
// from the exchange before the connection is handed to the reverse proxy:
// the exchange is not read once forward returns.
type upgradeWatch struct {
	end    time.Time     // when the identity stops being valid; zero: never
	sess   *http.Request // a request carrying the session's cookies, or nil
	bearer string        // the bearer token, or ""
	sub    string        // for the log
}

// watchUpgrade returns req with a context that ends when the identity that
// opened an upgraded connection (a WebSocket) does: at the session's end or
// the token's expiry, and when a recheck every Config.UpgradeRecheck finds
// the session signed out or revoked (the Redis store) or the token no longer
// valid. Ending the context makes the reverse proxy close both connections.
// stop must be called when the reverse proxy has returned.
func (h *Handler) watchUpgrade(ex *exchange, r, req *http.Request) (_ *http.Request, stop func()) {
	w := upgradeWatch{end: h.identityEnd(ex), bearer: ex.bearer, sub: ex.id.Subject}
	if ex.sess != nil && ex.bearer == "" {
		w.sess = &http.Request{Method: http.MethodGet, URL: r.URL, Host: r.Host,
			Header: http.Header{"Cookie": append([]string(nil), r.Header["Cookie"]...)}}
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	done := make(chan struct{})
	go h.watch(w, cancel, done)
	return req.WithContext(ctx), func() { close(done); cancel(nil) }
}

// identityEnd is when the exchange's identity stops being valid: the
// session's absolute end, or its access token's expiry when no refresh can
// extend it (the session has no refresh token, or the gateway refreshes
// none: fresh); a bearer token's expiry.
func (h *Handler) identityEnd(ex *exchange) time.Time {
	if s := ex.sess; s != nil && ex.bearer == "" {
		if !s.Expiry.IsZero() && (!h.cfg.Refresh || !s.CanRefresh()) && s.Expiry.Before(s.ExpiresAt) {
			return s.Expiry
		}
		return s.ExpiresAt
	}
	return ex.id.Expiry
}

// watch ends the connection (end) when w's identity ends, until done.
func (h *Handler) watch(w upgradeWatch, end context.CancelCauseFunc, done <-chan struct{}) {
	every := h.cfg.UpgradeRecheck
	if every <= 0 {
		every = defaultUpgradeRecheck
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	var expired <-chan time.Time
	if !w.end.IsZero() {
		t := time.NewTimer(w.end.Sub(h.now()))
		defer t.Stop()
		expired = t.C
	}
	var why error
	for why == nil {
		select {
		case <-done:
			return
		case <-expired:
			why = errUpgradeExpired
		case <-tick.C:
			why = h.recheck(w)
		}
	}
	h.log.Info("proxy: upgraded connection ended", "sub", w.sub, "reason", why.Error())
	end(why)
}

// recheck looks w's identity up again: nil while it is valid or when the
// store or provider cannot say (an outage does not end every connection).
func (h *Handler) recheck(w upgradeWatch) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if w.bearer != "" {
		_, err := h.verifier.VerifyBearer(ctx, w.bearer)
		if err != nil && !errors.Is(err, idp.ErrNotReady) && !errors.Is(err, idp.ErrUnavailable) {
			return errUpgradeRevoked
		}
		return nil
	}
	if w.sess == nil {
		return nil
	}
	_, err := h.cfg.Sessions.Load(w.sess.WithContext(ctx))
	if errors.Is(err, session.ErrNoSession) {
		return errUpgradeRevoked
	}
	return nil
}
