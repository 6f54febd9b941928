package proxy

import (
	"bufio"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"
)

// statusWriter remembers the status code written, for logs and metrics.
// Unwrap lets http.ResponseController (used by ReverseProxy for flushing
// and upgrades) reach the underlying writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	// held are the headers the gateway set before forwarding (a renewed
	// session's Set-Cookie), kept aside while the upstream answers: an
	// interim response (103 Early Hints), which ReverseProxy copies from
	// the upstream and then clears the header map of, neither carries nor
	// loses them. They are added to the final response.
	held http.Header
	// sendIdle, while a forwarded answer is written, bounds each write to
	// the client (Write, Flush; endSend when the reverse proxy has
	// returned): a client that stops reading a large answer (a download,
	// an event stream) blocked the gateway's write for ever once the
	// socket buffers were full, and with it the upstream request: the
	// listener has no WriteTimeout, which would cut long streams. Like
	// nginx's send_timeout, the bound is on one write, so a stream that
	// pauses is not cut (an HTTP/2 stream's deadline resets it when it
	// passes, written to or not: it is lifted after each write). An
	// interim (1xx) answer gets none: a 101 hands the connection over to a
	// WebSocket, which must not inherit it. sent: a deadline was set.
	sendIdle time.Duration
	sent     bool
	// forwarded: the answer was the upstream's (endSend bounded its end).
	forwarded bool
	// noInterim: the request is HTTP/1.0, whose client cannot tell an
	// interim (1xx) answer from the final one (forward sets it).
	noInterim bool
}

// holdHeaders moves the headers set so far aside until the final response.
func (s *statusWriter) holdHeaders() {
	h := s.Header()
	if len(h) == 0 {
		return // the hot path
	}
	s.held = h.Clone()
	clear(h)
}

func (s *statusWriter) WriteHeader(code int) {
	if code < 200 && code != http.StatusSwitchingProtocols {
		if s.noInterim {
			// RFC 9110 §15.2: no 1xx to an HTTP/1.0 client. nginx's
			// proxy_pass speaks HTTP/1.0 by default and took a 103 for
			// the answer: the final one reached its client, and its cache,
			// as the 103's body, under the application's headers instead
			// of the gateway's (a protected page stored as public).
			return
		}
		interimFields(s.Header())
	} else {
		s.release()
	}
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// interimFields cleans an interim response's fields, which are the
// upstream's as they came: no cookie is set or cleared through one (the
// gateway's own cookies included), nor a policy for the origin set. It is
// also kept out of every cache, in place of the application's caching
// fields (Go's server copies the whole header map onto a 1xx): a front
// proxy that reads no 1xx from its upstream (nginx 1.22, over HTTP/1.1)
// takes it for the final answer and what follows, the gateway's real
// answer, for its body; stored by the application's "public", a signed-in
// user's page was served to anyone who asked for the URL. The upstream's
// connection fields go too (hopByHop).
func interimFields(h http.Header) {
	for _, k := range [...]string{"Set-Cookie", clearSiteData, networkErrorLogging, altSvc, "Expires"} {
		h.Del(k)
	}
	hopByHop(h)
	unshareable(h)
}

// hopByHop removes the fields of the connection between the upstream and
// the gateway (RFC 9110 §7.6.1), and those its Connection names, from an
// interim answer, which the reverse proxy copies as it came: they are not
// the client's, and in HTTP/2 they make the message malformed (RFC 9113
// §8.2.2), so a strict client resets the stream. The final answer's are
// removed by the reverse proxy itself.
func hopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range [...]string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"} {
		delete(h, k)
	}
}

// release adds the held headers to the response. A response that carries
// a gateway cookie is kept out of every cache (unshareable).
func (s *statusWriter) release() {
	if s.held == nil {
		return
	}
	h := s.Header()
	if s.held["Set-Cookie"] != nil {
		unshareable(h)
	}
	for k, vs := range s.held {
		h[k] = append(h[k], vs...)
	}
	s.held = nil
}

// unshareable makes a forwarded response that carries the gateway's
// Set-Cookie (a session saved again on the way) unfit for any cache,
// whatever the upstream said: a shared cache in front of the gateway that
// stores the response with its Set-Cookie (Apache's mod_cache does by
// default; public, s-maxage or heuristic freshness allow it) would hand the
// user's session cookie to everyone who asks for the URL (RFC 2965
// §4.2.3). It costs one uncached response per refresh.
func unshareable(h http.Header) {
	h.Set("Cache-Control", "no-store")
	dropSharedCacheFields(h)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.release()
		s.status = http.StatusOK
	}
	if s.sendIdle > 0 && s.sendDeadline(time.Now().Add(s.sendIdle)) {
		n, err := s.ResponseWriter.Write(b)
		s.sendDeadline(time.Time{})
		return n, err
	}
	return s.ResponseWriter.Write(b)
}

// Flush flushes the underlying writer when it can.
func (s *statusWriter) Flush() {
	timed := s.sendIdle > 0 && s.sendDeadline(time.Now().Add(s.sendIdle))
	_ = http.NewResponseController(s.ResponseWriter).Flush()
	if timed {
		s.sendDeadline(time.Time{})
	}
}

// sendDeadline sets the write deadline of the forwarded answer (zero:
// none), around each write; false when the writer has none (a test
// recorder).
func (s *statusWriter) sendDeadline(t time.Time) bool {
	if http.NewResponseController(s.ResponseWriter).SetWriteDeadline(t) != nil {
		return false
	}
	s.sent = true
	return true
}

// endSend, called when the reverse proxy has returned (not after a panic:
// the server closes that connection), gives what the server writes once
// the handler returns (what the answer left buffered, a chunked answer's
// closing bytes, HTTP/2's end of stream) a deadline too. The server lifts
// it once the answer is complete (HTTP/1.1: before the connection's next
// request; HTTP/2: with the stream).
func (s *statusWriter) endSend() {
	if s.sent {
		s.sendDeadline(time.Now().Add(s.sendIdle))
	}
	s.sendIdle, s.sent, s.forwarded = 0, false, true
}

// endOwn gives what the server writes of an answer the gateway made itself
// (a refusal, a redirect to sign in, an endpoint's page) once the handler
// has returned the bound endSend gives a forwarded one. Over HTTP/2 a
// client that grants no flow-control window held that write, and with it
// the stream's goroutine and buffers, for as long as it kept the
// connection (100 streams each, and a connection with streams open counts
// as busy for max_connections); now the stream is reset when it passes.
func (s *statusWriter) endOwn(idle time.Duration) {
	if !s.forwarded && idle > 0 {
		s.sendDeadline(time.Now().Add(idle))
	}
}

// Hijack hands the connection of an upgraded answer (a WebSocket) to the
// reverse proxy with each write to the client bounded by sendIdle, as the
// forwarded answers' are (sendTimedConn): an application pushing to a
// client that reads nothing was otherwise held until the identity ended,
// or for ever on a public route. The 101 itself, whose header block is the
// application's (up to maxResponseHeaderBytes), is written through brw:
// its writer goes through the bounded connection too.
func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil || s.sendIdle <= 0 {
		return conn, brw, err
	}
	timed := &sendTimedConn{Conn: conn, idle: s.sendIdle}
	if err := brw.Flush(); err != nil { // nothing is buffered yet: the server flushed the answer at Hijack
		_ = conn.Close()
		return nil, nil, err
	}
	return timed, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(timed)), nil
}

// sendTimedConn is an upgraded connection whose writes each wait at most
// idle. An idle connection, with nothing to write, has no deadline.
type sendTimedConn struct {
	net.Conn
	idle time.Duration
}

func (c *sendTimedConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	n, err := c.Conn.Write(p)
	_ = c.Conn.SetWriteDeadline(time.Time{})
	return n, err
}

// CloseWrite passes the application's half-close on to the client, which
// the reverse proxy does when the connection can (TCP, TLS).
func (c *sendTimedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errNoHalfClose
}

// Unwrap returns the underlying ResponseWriter.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
