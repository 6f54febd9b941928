package proxy

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/panicerr"
	"github.com/portcullis/portcullis/session"
	"golang.org/x/net/http/httpguts"
)

// defaultUpgradeRecheck is how often an upgraded connection's session or
// bearer token is looked up again (Config.UpgradeRecheck).
const defaultUpgradeRecheck = 10 * time.Second

// upgradeUncheckedGrace bounds how long an upgraded connection is kept
// while its rechecks cannot be made (the session store or the provider
// fails), counted from its last recheck that could: a sign-out or
// revocation made meanwhile is acted on within it once the checks can be
// made again, and after it whatever happens. A request in the same
// situation is refused at once (503); a connection is not, so that a
// moment's failure (a Redis restart or failover, a provider's slow
// answers, a reload whose provider is not ready yet) does not close every
// open WebSocket. A minute, not the hour the groups of a failing directory
// are kept (groupsMaxStale): that bound is for a third party's rate limits
// while the session itself is known to be valid; here nothing is known,
// the session's own requests have been failing for the whole of it, and a
// closed WebSocket's client reconnects once the outage is over.
const upgradeUncheckedGrace = time.Minute

// Why an upgraded connection was ended.
var (
	errUpgradeExpired = errors.New("the session or token expired")
	errUpgradeRevoked = errors.New("the session or token was revoked")
	errUpgradeDenied  = errors.New("the request is no longer allowed")
	// errUpgradeUnchecked: the store or provider cannot say (recheck
	// keeps the connection up to upgradeUncheckedGrace).
	errUpgradeUnchecked = errors.New("the session or token could not be checked for " + upgradeUncheckedGrace.String())
	// errUpgradeGroupsUnread: the session holds, but its groups are past
	// the staleness limit and the store cannot give the tokens to read
	// them again (freshGroups), which a request gets a 503 for.
	errUpgradeGroupsUnread = errors.New("the groups are past their staleness limit and the session store cannot give the tokens to read them")
)

// askedSwitch refuses a 101 Switching Protocols answer that does not
// switch to the protocol the request asked for (an upgrade not asked for,
// another protocol, or a bare 101 the transport hands over without its
// connection). The reverse proxy refuses them too, but after the
// transport has made the connection the caller's, and without closing it:
// an application answering so left a descriptor open per request until a
// garbage collection. Refused here, the connection is closed and the
// client gets 502. A switch to WebSocket must also carry the handshake's
// answer (websocketSwitched).
func askedSwitch(resp *http.Response) error {
	asked, got := upgradeType(resp.Request.Header), upgradeType(resp.Header)
	if _, ok := resp.Body.(io.ReadWriteCloser); !ok || asked == "" || !ascii.EqualFold(asked, got) {
		return fmt.Errorf("proxy: the upstream switched to protocol %.32q when %.32q was asked", got, asked)
	}
	if ascii.EqualFold(asked, "websocket") && !websocketSwitched(resp) {
		return errors.New("proxy: the upstream switched to websocket without answering the handshake's key")
	}
	return nil
}

// websocketSwitched reports whether a 101 to a WebSocket upgrade carries
// the Sec-WebSocket-Accept derived from the request's one key, which only
// a server that read the handshake writes (RFC 6455 §4.2.2; a client must
// fail the connection without it, §4.1). Without the check, a 101 an
// application wrote with the headers but kept speaking HTTP after (Go's
// server does, for a handler that writes the status) was spliced, and
// every request sent through it reached the application undecided, with
// identity headers of the client's choosing.
func websocketSwitched(resp *http.Response) bool {
	keys, accepts := resp.Request.Header["Sec-Websocket-Key"], resp.Header["Sec-Websocket-Accept"]
	return len(keys) == 1 && keys[0] != "" && len(accepts) == 1 && accepts[0] == websocketAccept(keys[0])
}

// websocketGUID is the value RFC 6455 §1.3 appends to the client's key.
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// websocketAccept is the Sec-WebSocket-Accept that answers the client's
// Sec-WebSocket-Key (RFC 6455 §4.2.2).
func websocketAccept(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// upgradeType is the protocol a request or 101 answer names, as the
// reverse proxy reads it: Upgrade's first value, with Connection naming it.
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	return h.Get("Upgrade")
}

// upgradeWatch is what the watcher of one upgraded connection needs, copied
// from the exchange before the connection is handed to the reverse proxy:
// the exchange is not read once forward returns.
type upgradeWatch struct {
	end    time.Time     // when the identity stops being valid; zero: never
	sess   *sessionProbe // how the session is read again, or nil
	bearer string        // the bearer token, or ""
	sub    string        // for the log
	// The request as it was decided (its method, host and path), and the
	// identity it was allowed for: every recheck decides the request
	// again, with the identity as it is then and the routes of the
	// configuration in force (stillAllowed).
	q         request
	overrides [2]string            // the methods a POST was decided as besides its own (exchange.overrides)
	id        *portcullis.Identity // as the last recheck that could be made found it (the decision's, at first)
	// Cookie store: the marker keys (refresher, watchKeys) of the
	// session's refresh token, made once and moved on to each token that
	// replaced it on this replica, and whether one was seen refused or
	// revoked (markers last deadRefreshTTL, the connection may last
	// longer). rt is that token when the exchange held it: after a refresh
	// on the way it is the new one, while the cookie the request carried
	// (sess) still holds the one the refresh replaced, which a sign-out
	// with the new cookie never marks.
	rt     string
	keys   *[2][32]byte
	rtDead bool
	// read is a cookie-store session's last directory read of groups made
	// by a recheck (recheckCookieGroups), or nil.
	read *session.Session
	// checked is when a recheck last could be made (the decision, at
	// first), in Unix nanoseconds: a time.Time's 24 bytes took the
	// exchange, which holds a watch, past its allocation's size class.
	checked int64
}

// watchUpgrade returns req with a context that ends when the identity that
// opened an upgraded connection (a WebSocket) does: at the session's end or
// the token's expiry, and when a recheck every Config.UpgradeRecheck finds
// the session signed out or revoked (the Redis store) or the token no longer
// valid. Ending the context makes the reverse proxy close both connections.
// stop must be called when the reverse proxy has returned.
func (h *Handler) watchUpgrade(ex *exchange, r, req *http.Request) (_ *http.Request, stop func()) {
	w := h.newWatch(ex)
	if ex.sess != nil && ex.bearer == "" {
		w.sess = newSessionProbe(r, ex.sess)
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	done := make(chan struct{})
	go h.watch(w, cancel, done)
	return req.WithContext(ctx), func() { close(done); cancel(nil) }
}

// newWatch is the watch of ex's identity, without the request that loads
// its session again (sessionProbe).
func (h *Handler) newWatch(ex *exchange) upgradeWatch {
	w := upgradeWatch{end: h.identityEnd(ex), bearer: ex.bearer, sub: subjectOf(ex.id),
		q: request{method: ex.method, host: ex.host, path: ex.path}, overrides: ex.overrides, id: ex.id,
		checked: ex.start.UnixNano()}
	if ex.sess != nil && ex.bearer == "" {
		w.rt = ex.sess.RefreshToken // "" for a cached copy without tokens
	}
	return w
}

// sessionProbe is what a watcher loads the session of an upgraded
// connection (or a stream) again with: a request carrying the client's
// cookies, and the sign-in of the session they were decided with, which
// the application goes on serving the connection as. Only that session
// counts (Handler.loadOf): once it has ended, the cookies open the next
// session they carry, maybe another user's.
type sessionProbe struct {
	req   http.Request
	login session.Login
}

// newSessionProbe is the sessionProbe of r, decided with s.
func newSessionProbe(r *http.Request, s *session.Session) *sessionProbe {
	return &sessionProbe{req: http.Request{Method: http.MethodGet, URL: r.URL, Host: r.Host,
		Header: http.Header{"Cookie": append([]string(nil), r.Header["Cookie"]...)}}, login: session.LoginOf(s)}
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
	if ex.id == nil {
		return time.Time{} // anonymous: only the routes can end it
	}
	return ex.id.Expiry
}

// subjectOf is id's subject, "" for an anonymous request.
func subjectOf(id *portcullis.Identity) string {
	if id == nil {
		return ""
	}
	return id.Subject
}

// watch ends the connection (end) when w's identity ends, until done.
func (h *Handler) watch(w upgradeWatch, end context.CancelCauseFunc, done <-chan struct{}) {
	// Its own goroutine, which no server recovers: a panic in a recheck
	// ends this connection, closed, not the process (panicerr).
	var failed error
	defer func() {
		if failed != nil {
			h.log.Error("proxy: the watch of an upgraded connection failed; closing it", subAttr(w.sub), logattr.Err(failed))
			end(failed)
		}
	}()
	defer panicerr.Recover(&failed, "proxy: the watch of an upgraded connection")
	every := h.cfg.UpgradeRecheck
	if every <= 0 {
		every = defaultUpgradeRecheck
	}
	// A timer started again after each recheck, not a ticker: a recheck
	// that took the interval (a store or provider at its timeout) is not
	// followed by another at once.
	tick := time.NewTimer(every)
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
			why = h.live().recheck(&w)
			tick.Reset(every)
		}
	}
	host, path := endedAttrs(w.q)
	h.log.Info("proxy: upgraded connection ended", subAttr(w.sub), host, path, logattr.Reason(why))
	end(why)
}

// recheck looks w's identity up again and decides w's request again
// with it: nil while both hold, or when the store or provider cannot say
// (an outage does not end every connection: the identity its last recheck
// that could be made found, at first the one it opened with, is decided
// again) until upgradeUncheckedGrace has passed since that recheck. The
// opening identity was decided before: a group lost since, seen by a
// recheck, still admitted the connection to a reload's stricter rules
// during the outage. Before, a connection was kept for as long
// as the outage lasted, and a sign-out or revocation made meanwhile was
// not acted on: never, with an ACL that stopped letting the gateway read
// the store, up to the session's lifetime. It is called on the handler of
// the configuration in force (live), so that a reload's stricter rules, and a user's groups
// or scopes as the provider now states them, apply to open connections
// and answers as they do to the next request.
func (h *Handler) recheck(w *upgradeWatch) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id, err := h.recheckIdentity(ctx, w)
	switch {
	case errors.Is(err, errUpgradeUnchecked):
		if h.now().Sub(time.Unix(0, w.checked)) > upgradeUncheckedGrace {
			return err
		}
	case err != nil:
		return err
	default:
		w.checked = h.now().UnixNano()
		if id != nil {
			w.id = id // what an outage's rechecks decide with
		}
	}
	if id == nil {
		id = w.id
	}
	return h.stillAllowed(w, id)
}

// recheckIdentity is w's identity as the store or provider states it now
// (nil: the one it opened with), why it ended, or errUpgradeUnchecked when
// they cannot say.
func (h *Handler) recheckIdentity(ctx context.Context, w *upgradeWatch) (*portcullis.Identity, error) {
	if w.bearer != "" {
		id, err := h.verifier.VerifyBearer(ctx, w.bearer)
		switch {
		case errors.Is(err, idp.ErrNotReady) || errors.Is(err, idp.ErrUnavailable):
			return nil, errUpgradeUnchecked
		case err != nil:
			return nil, errUpgradeRevoked
		}
		return id, nil
	}
	if w.sess == nil {
		return nil, nil
	}
	r := w.sess.req.WithContext(ctx)
	s, err := h.loadOf(r, w.sess.login)
	switch {
	case errors.Is(err, session.ErrNoSession):
		return nil, errUpgradeRevoked
	case err != nil:
		return nil, errUpgradeUnchecked
	case !s.ServerSide():
		if h.cfg.Refresh && s.CanRefresh() {
			if err := h.recheckCookie(w, r, s); err != nil {
				return nil, err
			}
		}
		return h.recheckCookieGroups(w, r, s)
	}
	return h.recheckStored(r, s)
}

// recheckCookieGroups reads the directory groups of an upgraded
// connection's cookie-store session again when due (freshGroups), as a
// request of the session would, and keeps the read on the watch (w.read),
// since the cookie the connection carries cannot be replaced: the next
// read is due groups_refresh after it, not at every recheck. A read that
// ends the session ends the connection. Before, a cookie-store
// connection's groups were never read again: a user removed from the
// route's group kept it open until the session's end (with GitHub, whose
// tokens do not expire, its lifetime). The read uses the cookie's access
// token: once that has expired (the browser's cookie holds a refreshed
// one), no read is made, which would be refused and end a valid session's
// connection, and the last groups stand, as before.
func (h *Handler) recheckCookieGroups(w *upgradeWatch, r *http.Request, s *session.Session) (*portcullis.Identity, error) {
	if w.read != nil && !w.read.GroupsReadAt.Before(s.GroupsReadAt) {
		s = w.read // a failed read too: retried after groupsRetry, not at every check
	}
	if s.GroupsReadAt.IsZero() || (!s.Expiry.IsZero() && !h.now().Before(s.Expiry)) {
		return &s.Identity, nil
	}
	ns, err := h.recheckGroups(r, s)
	if err != nil {
		return nil, err
	}
	w.read = ns
	return &ns.Identity, nil
}

// recheckStored is recheckIdentity for a Redis session: refreshed when due
// (recheckRefresh) and its directory groups read again when due
// (freshGroups), as a request of the session would, saved for the
// browser's next request.
func (h *Handler) recheckStored(r *http.Request, s *session.Session) (*portcullis.Identity, error) {
	if h.refreshDue(s) {
		if err := h.recheckRefresh(r, s); err != nil {
			return nil, err
		}
		var err error
		if s, err = h.loadOf(r, session.LoginOf(s)); err != nil {
			return nil, errUpgradeUnchecked // ended is told at the next recheck
		}
	}
	s, err := h.recheckGroups(r, s)
	if err != nil {
		return nil, err
	}
	return &s.Identity, nil
}

// recheckGroups reads s's directory groups again when due (freshGroups),
// for an upgraded connection of either store: the session as read, or why
// the connection ends.
func (h *Handler) recheckGroups(r *http.Request, s *session.Session) (*session.Session, error) {
	ex := &exchange{statusWriter: statusWriter{ResponseWriter: unsentResponse{}}}
	ns, err := h.freshGroups(ex, r, s)
	switch {
	case err != nil:
		// Past the staleness limit, groups the store cannot let be read
		// again end the connection as they refuse a request: with a 503
		// (a long poll's late answer), not the 401 of an ended session.
		return nil, errUpgradeGroupsUnread
	case ns == nil:
		return nil, errUpgradeRevoked
	}
	return ns, nil
}

// stillAllowed decides w's request again for id with the routes in force,
// by the one decision path (decide, as Explain does for a hypothetical
// identity: the path's aliases included), and a POST again as each method
// it was also decided as (decideOverride): nil when it is still forwarded,
// else errUpgradeDenied.
func (h *Handler) stillAllowed(w *upgradeWatch, id *portcullis.Identity) error {
	ex := &exchange{statusWriter: statusWriter{ResponseWriter: unansweredWriter{}}, explain: &explanation{id: id}}
	r := &http.Request{Method: w.q.method, URL: &url.URL{Path: w.q.path}, Header: http.Header{}}
	err := h.decide(ex, r, w.q)
	for _, m := range w.overrides {
		if err != nil || m == "" || !ex.dec.forwards() {
			break
		}
		err = h.decideOverride(ex, r, w.q, m)
	}
	if err != nil || !ex.dec.forwards() {
		return errUpgradeDenied
	}
	return nil
}

// live is the handler of the configuration in force (Config.Live), or h.
func (h *Handler) live() *Handler {
	if h.cfg.Live != nil {
		if l := h.cfg.Live(); l != nil {
			return l
		}
	}
	return h
}

// refreshDue reports whether a request of s would refresh it (fresh): its
// access token is within RefreshMargin of its expiry and can be refreshed.
// (One that cannot be refreshed ends the connection at its expiry:
// identityEnd.)
func (h *Handler) refreshDue(s *session.Session) bool {
	return !s.Expiry.IsZero() && h.cfg.Refresh && s.CanRefresh() &&
		!h.now().Add(h.cfg.RefreshMargin).Before(s.Expiry)
}

// recheckRefresh decides an upgraded connection of a Redis session due for
// a refresh as a request of the session would be: the refresh is saved in
// the store, where the browser's next request finds it, and a refused one
// ends the session (fresh deletes it) and the connection. Before, the
// connection was only checked for the session's presence in the store, and
// a user disabled at the provider kept a WebSocket open to the session's
// lifetime when it was the session's only traffic. An expired access token
// the provider cannot renew ends the session (endUnrefreshed), and the
// connection with it. One the store cannot renew, or whose refresh another
// replica has under way, is a recheck that cannot be made
// (errUpgradeUnchecked): an outage does not end every connection at once,
// but it was not counted either, and the connection was kept to the
// session's lifetime.
func (h *Handler) recheckRefresh(r *http.Request, s *session.Session) error {
	ex := &exchange{statusWriter: statusWriter{ResponseWriter: unsentResponse{}}}
	if ns, err := h.fresh(ex, r, s); err == nil && ns != nil {
		return nil
	}
	if _, err := h.loadOf(r, session.LoginOf(s)); errors.Is(err, session.ErrNoSession) {
		return errUpgradeRevoked
	}
	return errUpgradeUnchecked
}

// recheckCookie ends an upgraded connection of a cookie-store session once
// its access token is due for a refresh (refreshDue) and its refresh token
// was seen refused by the provider or revoked by a sign-out: a request with
// that cookie is then anonymous (fresh). The connection cannot refresh the
// session itself: that would spend the refresh token the browser's cookie
// holds, for a result no browser receives. A provider that rotates refresh
// tokens replaces the cookie's at the browser's next refresh: the watch
// follows each replacement made on this replica (refresher.rotated), whose
// sign-out or refused refresh ends the session too. Before, it watched the
// spent token only, and the connection stayed open to the session's
// lifetime.
func (h *Handler) recheckCookie(w *upgradeWatch, r *http.Request, s *session.Session) error {
	if w.keys == nil {
		if w.rt == "" {
			full, err := h.cfg.Sessions.Full(r, s)
			if err != nil {
				return nil
			}
			w.rt = full.RefreshToken
		}
		k := watchKeys(w.rt)
		w.keys, w.rt = &k, ""
	}
	// Bounded: each link is one refresh of the session, and the check runs
	// every few seconds.
	for range 16 {
		w.rtDead = w.rtDead || h.refresher.marked(w.keys[0])
		next, ok := h.refresher.successor(w.keys[1])
		if !ok {
			break
		}
		*w.keys = next
	}
	w.rtDead = w.rtDead || h.refresher.marked(w.keys[0])
	if w.rtDead && h.refreshDue(s) {
		return errUpgradeRevoked
	}
	return nil
}

// unsentResponse is the response of a refresh no client waits for: the
// Redis store writes nothing to it but the expiry of cookies.
type unsentResponse struct{}

func (unsentResponse) Header() http.Header         { return http.Header{} }
func (unsentResponse) Write(b []byte) (int, error) { return len(b), nil }
func (unsentResponse) WriteHeader(int)             {}
