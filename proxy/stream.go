package proxy

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/internal/panicerr"
)

// identityStream is the body of a forwarded answer (not an upgrade, which
// watchUpgrade ends): it ends with the identity the request was allowed
// for, like a WebSocket (docs/requests.md). A server-sent event stream, a
// long download or a long poll's late answer otherwise went on after a
// sign-out, a revocation or the session's end for as long as the
// application wrote. An anonymous answer (a public route) has no identity
// to end, but is decided again with the routes in force, as an anonymous
// WebSocket is: a reload that made its route need a sign-in, or removed
// it, left it streaming. It watches no clock of its own: it checks as data
// arrives, so nothing reaches the client once the identity has ended, and
// a short answer (most are) costs a clock read per read and no allocation.
// It lives in the exchange.
type identityStream struct {
	io.ReadCloser
	h    *Handler
	in   *http.Request // the request as the client sent it (with its cookies)
	ex   *exchange
	w    upgradeWatch // as an upgraded connection's; w.sess made at the first recheck
	next time.Time    // when the session or token is looked up again
	up   bool         // it watches the request's body (watchUpload), not the answer
	q    quietWatch   // an answer of unknown length is checked on a timer too
}

// quietWatch ends an answer of unknown length (an event stream, a chunked
// download, a long-lived gRPC or NDJSON stream) when its identity ends,
// whether or not data arrives: checked only as data arrived, a stream
// that went quiet (an event stream without heartbeats) stayed open after
// a sign-out, a revocation or the session's end, at the client and at the
// application, which held the subscription of a user who was gone, until
// it wrote again. A timer runs identityStream.check whenever a lookup is
// due, as a read would, and closes the upstream's body when the identity
// ended, which ends the answer at both ends. Answers of known length (most,
// and every small one) never start it: they cost nothing more and are
// checked as their data arrives.
type quietWatch struct {
	on    bool // started (watchQuiet), before the answer is read
	mu    sync.Mutex
	timer *quietTimer // nil once the answer is closed
	body  io.Closer   // the transport's body, which the timer closes
	gone  bool        // the identity ended: the answer is broken off
}

// recheckEvery is Config.UpgradeRecheck or its default.
func (h *Handler) recheckEvery() time.Duration {
	if h.cfg.UpgradeRecheck > 0 {
		return h.cfg.UpgradeRecheck
	}
	return defaultUpgradeRecheck
}

// watchStream makes ex's answer end with its identity (watchAnswer), from
// the request's start. A request that reaches it a recheck interval or more
// after its decision (a body sent slowly: the pre-read waits up to
// preReadTimeout) is checked first: one whose identity ended meanwhile, or
// that is no longer allowed, is not forwarded, and the error says why.
func (h *Handler) watchStream(ex *exchange, r *http.Request) error {
	s := &ex.stream
	s.h, s.ex, s.in = h, ex, r
	s.w = h.newWatch(ex)
	s.next = ex.start.Add(h.recheckEvery())
	return s.check()
}

// watchAnswer wraps resp's body in ex's identityStream once the request
// was forwarded (watchStream), with an identity or without one (a public
// route, which a reload can make need a sign-in). An answer that comes a recheck interval
// or more after the last check (a long poll) is checked first: an identity
// that ended meanwhile makes it an error, answered 401 (upstreamError).
func (h *Handler) watchAnswer(ex *exchange, resp *http.Response) error {
	s := &ex.stream
	if s.h == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		return nil
	}
	if err := s.check(); err != nil {
		return err
	}
	s.ReadCloser = resp.Body
	resp.Body = s
	if resp.ContentLength < 0 {
		s.watchQuiet()
	}
	return nil
}

// watchQuiet starts s's quietWatch.
func (s *identityStream) watchQuiet() {
	body := io.Closer(s.ReadCloser)
	if g, ok := body.(*trailerGuard); ok {
		// Closing the guard would filter trailers while the transport may
		// be writing them.
		body = g.ReadCloser
	}
	q := &s.q
	q.mu.Lock()
	q.body, q.on = body, true
	q.timer = quietTimers.Get().(*quietTimer)
	q.timer.s.Store(s)
	q.timer.t.Reset(s.h.recheckEvery())
	q.mu.Unlock()
}

// quietTimer is a timer lent to one quietWatch at a time: an answer of
// unknown length is common (a Go server sends any answer over 2 KiB
// without a Content-Length when its handler sets none), and a timer made
// for each (time.AfterFunc and its function) cost two allocations per
// request. Its function wakes the stream it is lent to, if any.
type quietTimer struct {
	t *time.Timer
	s atomic.Pointer[identityStream]
}

var quietTimers = sync.Pool{New: func() any {
	qt := &quietTimer{}
	qt.t = time.AfterFunc(time.Hour, qt.fire)
	qt.t.Stop()
	return qt
}}

func (qt *quietTimer) fire() {
	if s := qt.s.Load(); s != nil {
		s.wake()
	}
}

// release takes qt back from its stream (under the stream's lock). A timer
// stopped before it fired goes back to the pool; one that fired may still
// be running fire, which finds its stream's timer gone (wake), so it is
// left to the collector rather than lent again.
func (qt *quietTimer) release() {
	stopped := qt.t.Stop()
	qt.s.Store(nil)
	if stopped {
		quietTimers.Put(qt)
	}
}

// wake checks s's identity (its timer fired) when a lookup is due, as a
// read would, and either watches on or breaks the answer off by closing
// the upstream's body, which ends a read waiting for data that would
// never come.
func (s *identityStream) wake() {
	q := &s.q
	q.mu.Lock()
	if q.timer == nil || q.gone {
		q.mu.Unlock()
		return
	}
	why := s.check()
	if why == nil {
		// The next lookup is due at s.next (a read may have made the last).
		d := s.next.Sub(s.h.now())
		if every := s.h.recheckEvery(); d <= 0 || d > every {
			d = every
		}
		q.timer.t.Reset(d)
	}
	q.gone = why != nil
	q.mu.Unlock()
	if why != nil {
		_ = q.body.Close()
	}
}

// Close stops the quietWatch's timer and closes the answer.
func (s *identityStream) Close() error {
	if q := &s.q; q.on {
		q.mu.Lock()
		if q.timer != nil {
			q.timer.release()
			q.timer = nil
		}
		q.mu.Unlock()
	}
	return s.ReadCloser.Close()
}

// watchUpload makes the part of ex's request body that streams to the
// upstream (beyond preReadLimit) end with the identity, as its answer does:
// an upload, or a client stream (gRPC), otherwise went on reaching the
// application after a sign-out, a revocation or the session's end, for as
// long as the client sent; an anonymous one (a public route) likewise after
// a reload whose routes no longer admit it. Only such bodies pay for it
// (one allocation).
func (h *Handler) watchUpload(ex *exchange, r *http.Request) {
	if ex.body == nil || ex.body.rest == nil {
		return
	}
	ex.body.watch = &identityStream{h: h, in: r, ex: ex, w: h.newWatch(ex),
		next: ex.stream.next, up: true} // checked last by watchStream
}

// Read passes the answer on while the identity is valid; data that
// arrives after it ended is dropped and the answer broken off. The end is
// logged once (check); the error the reverse proxy sees is context.Canceled,
// the one read error it aborts on without logging it as the upstream's
// failure at warn.
func (s *identityStream) Read(p []byte) (int, error) {
	n, err := s.ReadCloser.Read(p)
	if s.q.on {
		return s.q.read(s, n, err)
	}
	if n > 0 {
		if why := s.check(); why != nil {
			return 0, context.Canceled
		}
	}
	return n, err
}

// read is Read's check of an answer its quietWatch's timer checks too:
// under its lock, and ended (context.Canceled) once either found the
// identity gone, the timer's closing of the body included.
func (q *quietWatch) read(s *identityStream, n int, err error) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.gone && n > 0 {
		q.gone = s.check() != nil
	}
	if q.gone {
		return 0, context.Canceled
	}
	return n, err
}

// check reports why the identity ended (errUpgradeExpired,
// errUpgradeRevoked), or nil: its end is compared on every call, the
// session or token looked up again at most once per recheck interval.
func (s *identityStream) check() error {
	now := s.h.now()
	if !s.w.end.IsZero() && !now.Before(s.w.end) {
		return s.ended(errUpgradeExpired)
	}
	if now.Before(s.next) {
		return nil
	}
	return s.ended(s.lookup())
}

// lookup looks the identity up again and decides the request again with
// it (recheck). A panic there is its error, logged at error: check runs in
// the request's goroutine, but also in the quiet watch's timer and, for an
// upload, in the transport's writer of the request's body, which no server
// recovers, and a panic there ended the process, as in an upgraded
// connection's watch (panicerr). The answer or upload then ends, closed.
func (s *identityStream) lookup() (why error) {
	var failed error
	defer func() {
		if failed != nil {
			s.h.log.Error("proxy: the watch of a forwarded stream failed; ending it", subAttr(s.w.sub), logattr.Err(failed))
			why = failed
		}
	}()
	defer panicerr.Recover(&failed, "proxy: the watch of a forwarded stream")
	if s.w.sess == nil && s.ex.sess != nil && s.ex.bearer == "" {
		s.w.sess = newSessionProbe(s.in, s.ex.sess)
	}
	why = s.h.live().recheck(&s.w)
	// From the lookup's end: one that took the interval (a store or
	// provider answering at its timeout) is not followed by another at
	// the next read, which left a stream one read per lookup.
	s.next = s.h.now().Add(s.h.recheckEvery())
	return why
}

// ended logs why an answer is broken off and returns why.
func (s *identityStream) ended(why error) error {
	if why == nil {
		return nil
	}
	msg := "proxy: forwarded answer ended"
	if s.up {
		msg = "proxy: forwarded request body ended"
	}
	host, path := endedAttrs(s.w.q)
	s.h.log.Info(msg, subAttr(s.w.sub), host, path, logattr.Reason(why))
	return why
}
