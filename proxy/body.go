package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// preReadLimit is the size up to which a request body is read in full
// before the upstream is contacted (docs/requests.md, request hygiene): a
// small body that is malformed (a bare LF in a chunk line, CVE-2025-22871,
// a bad chunk size, a truncated body) is then the client's 400 and never
// reaches the upstream. Larger bodies stream.
const preReadLimit = 64 << 10

// bodyBuffer holds a pre-read body; its one extra byte tells a body of
// exactly preReadLimit bytes from a longer one.
type bodyBuffer [preReadLimit + 1]byte

// bodyPool lends bodyBuffers; it stores array pointers so that Put does not
// allocate.
type bodyPool struct{ p sync.Pool }

func (b *bodyPool) get() *bodyBuffer {
	if v, ok := b.p.Get().(*bodyBuffer); ok {
		return v
	}
	return new(bodyBuffer)
}

func (b *bodyPool) put(v *bodyBuffer) { b.p.Put(v) }

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
// pre-read bytes of a pooled buffer, then (for a body longer than
// preReadLimit) the rest of the client's body, whose errors it wraps in
// clientBodyError and records.
//
// The transport may read a request body after the handler has returned
// (http.RoundTripper; ReverseProxy closes it then, but a read can still be
// in flight). The buffer is therefore read only under mu, and release,
// called when the handler is done, takes it away under mu before it goes
// back to the pool: no read ever sees another request's bytes.
type forwardBody struct {
	mu   sync.Mutex
	buf  *bodyBuffer // nil once released
	pool *bodyPool
	off  int // next unread byte of buf
	n    int // bytes in buf

	rest   io.ReadCloser // the client's body after buf; nil when buf holds all of it
	failed atomic.Bool   // a read of rest failed
	ended  atomic.Bool   // rest reached its end
}

// Read serves the buffered bytes, then the rest of the client's body.
func (b *forwardBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.off < b.n {
		if b.buf == nil {
			b.mu.Unlock()
			return 0, errBodyReleased
		}
		k := copy(p, b.buf[b.off:b.n])
		b.off += k
		b.mu.Unlock()
		return k, nil
	}
	b.mu.Unlock()
	if b.rest == nil {
		return 0, io.EOF
	}
	// Not under mu: this read may wait on the client, and release must not.
	k, err := b.rest.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
		return k, &clientBodyError{err}
	}
	if err == io.EOF {
		b.ended.Store(true)
	}
	return k, err
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
	b.buf = nil
	b.mu.Unlock()
	if buf != nil {
		b.pool.put(buf)
	}
}

type forwardBodyKey struct{}

// withForwardBody returns r carrying b for clientBodyFailed.
func withForwardBody(r *http.Request, b *forwardBody) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), forwardBodyKey{}, b))
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
	// The reverse proxy passes its outbound request, whose Body wraps ours:
	// the body is found through the context.
	b, ok := r.Context().Value(forwardBodyKey{}).(*forwardBody)
	if !ok {
		return false
	}
	return b.failed.Load() || (b.rest != nil && !b.ended.Load() && r.Context().Err() != nil)
}

// preRead prepares r's body for forwarding. A bodyless request (GET) is
// left as it is, without allocating. A body of at most preReadLimit bytes
// is read in full into a pooled buffer, and is then sent with its exact
// Content-Length; a framing error in it is returned (as a
// *clientBodyError) before the upstream is contacted. A longer body keeps
// streaming behind the buffered part. release must be called on a non-nil
// result once the reverse proxy has returned.
func preRead(r *http.Request, pool *bodyPool) (*forwardBody, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > preReadLimit {
		b := &forwardBody{rest: r.Body}
		r.Body = b
		return b, nil
	}
	buf := pool.get()
	n, err := readFull(r.Body, buf[:])
	if err != nil {
		pool.put(buf)
		return nil, &clientBodyError{err}
	}
	if n == 0 {
		pool.put(buf)
		r.Body, r.ContentLength, r.TransferEncoding = http.NoBody, 0, nil
		return nil, nil
	}
	b := &forwardBody{buf: buf, pool: pool, n: n}
	if n > preReadLimit {
		b.rest = r.Body // longer than the limit: the rest streams
	} else {
		// Read in full: send it with its length, and without
		// "Expect: 100-continue", which this read has already answered.
		r.ContentLength, r.TransferEncoding = int64(n), nil
		r.Header.Del("Expect")
	}
	r.Body = b
	return b, nil
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
