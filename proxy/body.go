package proxy

import (
	"errors"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// preReadLimit is the size up to which a request body is read in full
// before the upstream is contacted (docs/requests.md, request hygiene): a
// small body that is malformed (a bare LF in a chunk line, CVE-2025-22871,
// a bad chunk size, a truncated body) is then the client's 400 and never
// reaches the upstream. Larger bodies stream.
const preReadLimit = 64 << 10

// smallBodySize is the first buffer a body is read into: most bodies (forms,
// JSON calls) fit, and a client that sends little holds little memory.
const smallBodySize = 4 << 10

// preReadTimeout bounds the time the pre-read may take, so that a client
// that sends its body slowly cannot hold a buffer for ever (the gateway
// listener has no overall read timeout, for long uploads): 64 KiB at 20
// kbit/s. Streaming past preReadLimit is not bounded by it.
const preReadTimeout = 30 * time.Second

// streamIdleTimeout bounds the wait for each read of a body that streams
// past preReadLimit (nginx's client_body_timeout): an upload may take as
// long as it needs while it progresses, but a client that stops sending
// does not hold a goroutine and an upstream connection for ever.
const streamIdleTimeout = 60 * time.Second

// sendIdleTimeout bounds each write of a forwarded answer to the client
// (statusWriter.sendTimed): a client that reads nothing for that long
// loses the answer, and the upstream request is aborted.
const sendIdleTimeout = 60 * time.Second

// bodyTiers are the sizes a pre-read buffer grows through, each taken only
// once the one before is full: a body holds at most twice what its client
// sent (4 KiB at first). A 4 KiB buffer followed by a 64 KiB one let 100
// HTTP/2 streams sending 4 KiB and a byte each hold 6.4 MiB for 30 s; a
// bound on such buffers per connection instead made the requests of one
// connection wait on each other's bodies, and a front proxy's connection
// carries many users'. The last tier's one extra byte tells a body of
// exactly preReadLimit bytes from a longer one.
var bodyTiers = [...]int{smallBodySize, 8 << 10, 16 << 10, 32 << 10, preReadLimit + 1}

// bodyPool lends the pre-read buffers, one pool per tier; it stores slice
// pointers so that Put does not allocate. timeout is preReadTimeout (tests
// shorten it).
type bodyPool struct {
	tiers   [len(bodyTiers)]sync.Pool
	timeout time.Duration
	idle    time.Duration // streamIdleTimeout; 0 = none
}

func (b *bodyPool) get(tier int) *[]byte {
	if v, ok := b.tiers[tier].Get().(*[]byte); ok {
		return v
	}
	buf := make([]byte, bodyTiers[tier])
	return &buf
}

// clientBodyError is an error reading the client's request body: a framing
// error or a body cut short. The reverse proxy's ErrorHandler recognises it
// and answers 400 instead of 502.
type clientBodyError struct{ err error }

func (e *clientBodyError) Error() string { return "proxy: reading the request body: " + e.err.Error() }
func (e *clientBodyError) Unwrap() error { return e.err }

// errBodyReleased is what a read of a pre-read body returns after the
// handler has returned its buffer to the pool: the transport then aborts
// the upstream request rather than ending it cleanly short.
var errBodyReleased = errors.New("proxy: request body read after the handler returned")

// forwardBody is the request body handed to the reverse proxy: the
// pre-read bytes held in a pooled buffer, then (for a body longer than
// preReadLimit) the rest of the client's body, whose errors it wraps in
// clientBodyError and records.
//
// The transport may read a request body after the handler has returned
// (http.RoundTripper; ReverseProxy closes it then, but a read can still be
// in flight). The buffer is therefore read only under mu, and release,
// called when the handler is done, takes it away under mu before it goes
// back to the pool: no read ever sees another request's bytes.
type forwardBody struct {
	pool *bodyPool

	mu       sync.Mutex
	buf      *[]byte // the buffer data is in, from bodyTiers[tier]
	tier     int
	data     []byte // the pre-read bytes, in buf
	off      int    // next unread byte of data
	released bool
	readErr  error // the error that ended a read of rest

	rest   io.ReadCloser            // the client's body after data; nil when data holds all of it
	rc     *http.ResponseController // sets the per-read deadline on rest
	failed atomic.Bool              // a read of rest failed
	ended  atomic.Bool              // rest reached its end

	// watch, when set (watchUpload), ends the streaming of rest with the
	// identity the request was allowed for.
	watch *identityStream
}

// Read serves the buffered bytes, then the rest of the client's body.
func (b *forwardBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.off < len(b.data) {
		if b.released {
			b.mu.Unlock()
			return 0, errBodyReleased
		}
		k := copy(p, b.data[b.off:])
		b.off += k
		b.mu.Unlock()
		return k, nil
	}
	b.mu.Unlock()
	if b.rest == nil {
		return 0, io.EOF
	}
	b.deadline(time.Now().Add(b.pool.idle))
	// Not under mu: this read may wait on the client, and release must not.
	k, err := b.rest.Read(p)
	if k > 0 && b.watch != nil {
		if why := b.watch.check(); why != nil {
			return 0, why // the transport aborts the upstream request
		}
	}
	if err != nil && err != io.EOF {
		b.mu.Lock()
		b.readErr = err
		b.mu.Unlock()
		b.failed.Store(true)
		return k, &clientBodyError{err}
	}
	if err == io.EOF {
		b.ended.Store(true)
		// The server's read after the body, which watches for the client
		// going away, must not see the deadline.
		b.deadline(time.Time{})
	}
	return k, err
}

// deadline sets the read deadline of the client's connection while the
// handler is running (a read the transport makes later touches nothing).
func (b *forwardBody) deadline(t time.Time) {
	if b.rc == nil || b.pool.idle <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.released {
		_ = b.rc.SetReadDeadline(t)
	}
}

// Close closes the client's body when part of it is still unread.
func (b *forwardBody) Close() error {
	if b.rest != nil {
		return b.rest.Close()
	}
	return nil
}

// release returns the buffer to the pool; reads of unread buffered bytes
// fail from then on.
func (b *forwardBody) release() {
	b.mu.Lock()
	buf := b.buf
	b.buf, b.released = nil, true
	b.mu.Unlock()
	if buf != nil {
		b.pool.tiers[b.tier].Put(buf)
	}
}

// fill reads body into a buffer of the first tier, and each time it fills
// up into one of the next, until body ends or preReadLimit+1 bytes are in.
func (b *forwardBody) fill(body io.Reader) error {
	n := 0
	for tier := range bodyTiers {
		buf := b.pool.get(tier)
		if b.buf != nil {
			copy(*buf, b.data)
			b.pool.tiers[b.tier].Put(b.buf)
		}
		b.buf, b.tier = buf, tier
		k, err := readFull(body, (*buf)[n:])
		n += k
		b.data = (*buf)[:n]
		if err != nil || n < len(*buf) {
			return err
		}
	}
	return nil
}

// releaseBody returns the exchange's pre-read body, if any, to its pool
// once the request has been answered (forwarded or refused).
func (ex *exchange) releaseBody() {
	if ex.body != nil {
		ex.body.release()
	}
}

// forwardBodyOf returns the pre-read body of the request r belongs to (the
// reverse proxy passes its outbound request, whose Body wraps ours: the body
// is found through the exchange in the context), or nil.
func forwardBodyOf(r *http.Request) *forwardBody {
	if ex := exchangeOf(r); ex != nil {
		return ex.body
	}
	return nil
}

// clientBodyCause is the error to answer a failed client body with: the
// one that ended the read of the client's body when there was one (a
// deadline is a 408), rather than what the transport made of it.
func clientBodyCause(r *http.Request, err error) error {
	if b := forwardBodyOf(r); b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.readErr != nil {
			return b.readErr
		}
	}
	return err
}

// clientBodyFailed reports whether err, or the body of r (the request the
// reverse proxy was given), shows that the client's body could not be read.
// A round trip cancelled while the client's body was still streaming counts
// too: the server cancels a request whose connection ends, and that
// cancellation can reach the transport before the failed read does.
func clientBodyFailed(r *http.Request, err error) bool {
	var ce *clientBodyError
	if errors.As(err, &ce) {
		return true
	}
	b := forwardBodyOf(r)
	if b == nil {
		return false
	}
	return b.failed.Load() || (b.rest != nil && !b.ended.Load() && r.Context().Err() != nil)
}

// preRead prepares r's body for forwarding. A bodyless request (GET) is
// left as it is, without allocating. A body of at most preReadLimit bytes
// is read in full into pooled buffers, within the pool's timeout, and is
// then sent with its exact Content-Length; a framing error in it is
// returned (as a *clientBodyError) before the upstream is contacted. A
// longer body keeps streaming behind the buffered part; one declared
// longer streams at once, unless it is a form (its first preReadLimit
// bytes are read for the decision, readForm). release must be called on a
// non-nil result once the reverse proxy has returned.
func preRead(w http.ResponseWriter, r *http.Request, pool *bodyPool, form bool) (*forwardBody, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > preReadLimit && !form {
		b := &forwardBody{pool: pool, rest: r.Body, rc: http.NewResponseController(w)}
		r.Body = b
		return b, nil
	}
	// A writer without deadlines (a test recorder) just reads unbounded.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(pool.timeout))
	b := &forwardBody{pool: pool}
	if err := b.fill(r.Body); err != nil {
		b.release()
		return nil, &clientBodyError{err}
	}
	_ = rc.SetReadDeadline(time.Time{})
	// This read has answered the client's "Expect: 100-continue" (Go's
	// server sends the 100 at the first read): the upstream is not asked
	// again, or its own 100 would reach the client as a second one, which
	// Java's HttpClient takes for the final answer.
	r.Header.Del("Expect")
	switch n := len(b.data); {
	case n == 0:
		b.release()
		r.Body, r.ContentLength, r.TransferEncoding = http.NoBody, 0, nil
		return nil, nil
	case n > preReadLimit:
		b.rest, b.rc = r.Body, rc // longer than the limit: the rest streams
	default:
		// Read in full: send it with its length.
		r.ContentLength, r.TransferEncoding = int64(n), nil
	}
	r.Body = b
	return b, nil
}

// boundBodyWait gives a request that declares a body the pre-read time,
// from its start, for whatever waits on that body without a bound of its
// own: the server drains a body the handler left unread (a refusal, a
// gateway endpoint) before it writes the answer, and the listener has no
// read timeout. A client that declared a body and never sent it held the
// connection, with no answer, for as long as it kept it open; now the
// drain fails when the time is up, and the answer goes out on a
// connection that is then closed. preRead and a streamed body set their
// own deadlines, and the server sets the next request's.
func boundBodyWait(w http.ResponseWriter, r *http.Request, timeout time.Duration) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
}

// abandonBody ends the connection of an HTTP/1.x request whose body could
// not be read, once the answer is written: its framing is lost. Without
// this the server would try to read the rest of the body before answering
// (to keep the connection), and a stalled client would hold it; the
// expired read deadline makes any such read fail at once. Over HTTP/2 the
// body is the stream's, which the server resets once the answer is
// written: the connection stays, and with it the other streams on it (a
// front proxy's, other clients' among them), which "Connection: close"
// made Go's server refuse (GOAWAY).
func abandonBody(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor < 2 {
		w.Header().Set("Connection", "close")
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// bodyError is the gateway's answer to a client body that could not be
// read: 408 when it did not arrive within the pre-read timeout, else 400.
func bodyError(err error) *httpError {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return requestTimeout(err)
	}
	return badRequest("the request body is malformed or incomplete", err)
}

// readFull reads from r until buf is full or r ends; the end of r is not
// an error.
func readFull(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
