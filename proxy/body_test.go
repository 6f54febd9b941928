package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// recordingUpstream is a real HTTP server that counts every byte it
// receives on any connection and records, per request, the body it read
// and the error that ended the read.
type recordingUpstream struct {
	*httptest.Server
	bytesIn atomic.Int64
	mu      sync.Mutex
	reqs    []upstreamRead
}

type upstreamRead struct {
	contentLength int64
	chunked       bool
	body          int
	err           error
	trailer       http.Header
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	u := &recordingUpstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, upstreamRead{r.ContentLength, len(r.TransferEncoding) > 0, int(n), err, r.Trailer})
		u.mu.Unlock()
		_, _ = fmt.Fprintf(w, "read %d", n)
	}))
	u.Listener = countingListener{u.Listener, &u.bytesIn}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func (u *recordingUpstream) requests() []upstreamRead {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]upstreamRead(nil), u.reqs...)
}

type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	k, err := c.Conn.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// bodyGateway serves a fixture whose only upstream is a recording upstream.
func bodyGateway(t *testing.T) (*httptest.Server, *recordingUpstream) {
	t.Helper()
	srv, up, _ := bodyGatewayFixture(t)
	return srv, up
}

func bodyGatewayFixture(t *testing.T) (*httptest.Server, *recordingUpstream, *fixture) {
	t.Helper()
	up := newRecordingUpstream(t)
	f := newFixture(t, func(c *Config) { c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, up.URL)}} })
	return serveGateway(t, f), up, f
}

// rawRequest writes a handwritten HTTP/1.1 request to the gateway, closes
// its sending side when halfClose is set (a body cut short), and reads the
// answer.
func rawRequest(t *testing.T, srv *httptest.Server, raw string, halfClose bool) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		_, _ = io.WriteString(c, raw)
		if halfClose {
			_ = c.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

const postHead = "POST /public/upload HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/octet-stream\r\n"

// TestMalformedSmallBodyNeverReachesUpstream: a body with a framing error,
// within the pre-read limit, is a 400 and not one byte of the request
// reaches the upstream (the old code sent it on and answered 502).
func TestMalformedSmallBodyNeverReachesUpstream(t *testing.T) {
	chunked := postHead + "Transfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		name      string
		raw       string
		halfClose bool
	}{
		{"bare LF after chunk size", chunked + "5\nhello\r\n0\r\n\r\n", false},
		{"bare LF in last chunk", chunked + "5\r\nhello\r\n0\n\r\n", false},
		{"bare LF after chunk data", chunked + "5\r\nhello\n0\r\n\r\n", false},
		{"bad chunk size", chunked + "zz\r\nhello\r\n0\r\n\r\n", false},
		{"chunk longer than its size", chunked + "3\r\nhello\r\n0\r\n\r\n", false},
		{"chunked body cut short", chunked + "a\r\nhel", true},
		{"no last chunk", chunked + "5\r\nhello\r\n", true},
		{"shorter than Content-Length", postHead + "Content-Length: 100\r\n\r\nshort", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, up := bodyGateway(t)
			resp := rawRequest(t, srv, tt.raw, tt.halfClose)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if n := up.bytesIn.Load(); n != 0 {
				t.Errorf("the upstream received %d bytes of a malformed request", n)
			}
		})
	}
}

// TestBodiesForwarded: well-formed bodies, chunked or not, small or large,
// reach the upstream whole; a small chunked body goes with its length.
func TestBodiesForwarded(t *testing.T) {
	big := strings.Repeat("b", 3*preReadLimit)
	tests := []struct {
		name        string
		raw         string
		wantLen     int
		wantChunked bool
	}{
		{"small chunked", postHead + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 11, false},
		{"exactly the limit, chunked", postHead + "Transfer-Encoding: chunked\r\n\r\n" + chunk(big[:preReadLimit]) + "0\r\n\r\n", preReadLimit, false},
		{"small with length", postHead + "Content-Length: 5\r\n\r\nhello", 5, false},
		{"empty chunked", postHead + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0, false},
		{"large chunked", postHead + "Transfer-Encoding: chunked\r\n\r\n" + chunk(big[:preReadLimit]) + chunk(big[preReadLimit:]) + "0\r\n\r\n", len(big), true},
		{"large with length", postHead + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(big)) + big, len(big), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, up := bodyGateway(t)
			resp := rawRequest(t, srv, tt.raw, false)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			reqs := up.requests()
			if len(reqs) != 1 || reqs[0].err != nil || reqs[0].body != tt.wantLen || reqs[0].chunked != tt.wantChunked {
				t.Fatalf("upstream read %+v, want %d bytes, chunked %v", reqs, tt.wantLen, tt.wantChunked)
			}
			if !tt.wantChunked && reqs[0].contentLength != int64(tt.wantLen) {
				t.Errorf("upstream Content-Length = %d, want %d", reqs[0].contentLength, tt.wantLen)
			}
		})
	}
}

// TestRequestTrailersNotForwarded: a client's trailer fields, which could
// carry an identity header past the scrubbing, never reach the upstream,
// whether the body is buffered or streams.
func TestRequestTrailersNotForwarded(t *testing.T) {
	big := strings.Repeat("b", 2*preReadLimit)
	for _, body := range []string{"hello", big} {
		srv, up := bodyGateway(t)
		raw := postHead + "Transfer-Encoding: chunked\r\nTrailer: X-Forwarded-User\r\n\r\n" + chunk(body) +
			"0\r\nX-Forwarded-User: mallory\r\n\r\n"
		if resp := rawRequest(t, srv, raw, false); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		reqs := up.requests()
		if len(reqs) != 1 || reqs[0].body != len(body) || len(reqs[0].trailer) != 0 {
			t.Errorf("%d-byte body: upstream read %d bytes, trailer %v", len(body), reqs[0].body, reqs[0].trailer)
		}
	}
}

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

// TestMalformedLargeBodyAbortsUpstream: a framing error past the pre-read
// limit aborts the upstream request (the upstream's read fails, it never
// sees a clean end) and the client gets 400, not 502.
func TestMalformedLargeBodyAbortsUpstream(t *testing.T) {
	big := strings.Repeat("b", 2*preReadLimit)
	tests := []struct {
		name      string
		raw       string
		halfClose bool
	}{
		{"bare LF after chunk size", postHead + "Transfer-Encoding: chunked\r\n\r\n" + chunk(big) + "5\nhello\r\n0\r\n\r\n", false},
		{"bad chunk size", postHead + "Transfer-Encoding: chunked\r\n\r\n" + chunk(big) + "-1\r\nhello\r\n0\r\n\r\n", false},
		{"shorter than Content-Length", postHead + fmt.Sprintf("Content-Length: %d\r\n\r\n", 2*len(big)) + big, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, up := bodyGateway(t)
			resp := rawRequest(t, srv, tt.raw, tt.halfClose)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(up.requests()) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			reqs := up.requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream requests: %+v", reqs)
			}
			if reqs[0].err == nil || reqs[0].body > len(big) {
				t.Errorf("upstream read %d bytes, err %v: want an aborted request", reqs[0].body, reqs[0].err)
			}
		})
	}
}

// TestSlowBodyTimesOut: a client that sends a small body too slowly gets
// 408 once the pre-read time is up, and its request never reaches the
// upstream; a body that arrives in time, in pieces, is forwarded.
func TestSlowBodyTimesOut(t *testing.T) {
	srv, up, f := bodyGatewayFixture(t)
	// The body in two pieces has a tenth of it between them, not a third
	// (100 ms of 300): a client woken late on a loaded machine can overrun
	// that into a 408, as TestStalledStreamingBodyTimesOut's pauses did.
	f.h.single.bodies.timeout = time.Second
	start := time.Now()
	resp := rawRequest(t, srv, postHead+"Content-Length: 100\r\n\r\nonly ten b", false)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status = %d, want 408", resp.StatusCode)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
	if n := up.bytesIn.Load(); n != 0 {
		t.Errorf("the upstream received %d bytes", n)
	}

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, postHead+"Content-Length: 10\r\n\r\nfirst")
	time.Sleep(100 * time.Millisecond)
	_, _ = io.WriteString(c, "-half")
	resp, err = http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("body in two pieces: %v %v", resp, err)
	}
	if reqs := up.requests(); len(reqs) != 1 || reqs[0].body != 10 {
		t.Errorf("upstream read %+v", reqs)
	}
}

// TestPreReadAllocations: a bodyless request costs no allocation, and a
// small body reuses pooled buffers instead of allocating 64 KiB each.
func TestPreReadAllocations(t *testing.T) {
	pool := &bodyPool{}
	get := httptest.NewRequest("GET", "/", nil)
	if n := testing.AllocsPerRun(100, func() {
		if b, err := preRead(nil, get, pool, false); b != nil || err != nil {
			t.Fatal(b, err)
		}
	}); n != 0 {
		t.Errorf("a GET allocates %v times", n)
	}
	payload := bytes.Repeat([]byte("hello=world&"), 1000) // 12 KB: both buffers
	r := httptest.NewRequest("POST", "/", nil)
	w := httptest.NewRecorder()
	run := func() {
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(payload)), -1
		b, err := preRead(w, r, pool, false)
		if err != nil || b == nil || r.ContentLength != int64(len(payload)) {
			t.Fatal(b, err, r.ContentLength)
		}
		b.release()
	}
	run()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const rounds = 200
	for range rounds {
		run()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / rounds; per > 4<<10 && !raceEnabled {
		t.Errorf("a small body allocates %d bytes per request; the 64 KiB buffer is not pooled", per)
	}
}

// TestReleasedBodyIsNeverReadAgain: once the handler has returned the
// buffer to the pool, a late read by the transport fails (the upstream
// request is aborted) instead of reading bytes of another request.
func TestReleasedBodyIsNeverReadAgain(t *testing.T) {
	pool := &bodyPool{}
	r := httptest.NewRequest("POST", "/", strings.NewReader("0123456789"))
	b, err := preRead(httptest.NewRecorder(), r, pool, false)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 4)
	if n, err := b.Read(p); n != 4 || err != nil || string(p) != "0123" {
		t.Fatalf("first read %d %v %q", n, err, p)
	}
	b.release()
	if _, err := b.Read(p); !errors.Is(err, errBodyReleased) {
		t.Errorf("read after release: %v, want errBodyReleased", err)
	}
}

// TestReleaseRacesLateReads: a transport still reading a body while the
// handler returns its buffer, which another request then fills, reads only
// the first request's bytes, then an error (run with -race).
func TestReleaseRacesLateReads(t *testing.T) {
	pool := &bodyPool{}
	for range 50 {
		r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("a", 40<<10)))
		b, err := preRead(httptest.NewRecorder(), r, pool, false)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			p := make([]byte, 512)
			for {
				n, err := b.Read(p)
				if bytes.ContainsFunc(p[:n], func(c rune) bool { return c != 'a' }) {
					done <- errors.New("read another request's bytes")
					return
				}
				if err != nil {
					done <- nil
					return
				}
			}
		}()
		b.release()
		other := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("X", 40<<10)))
		ob, err := preRead(httptest.NewRecorder(), other, pool, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		ob.release()
	}
}

// TestUnreadBodyIsNotAwaited: a request whose declared body the gateway
// does not read (a refusal, a gateway endpoint) is answered within the
// pre-read time even when the body never comes, and its connection is
// then closed. The server drains an unread body before it writes the
// answer, and the listener has no read timeout: an anonymous client that
// declared a body and sent nothing held the connection, its goroutine and
// buffers, without any answer, for as long as it kept it open.
func TestUnreadBodyIsNotAwaited(t *testing.T) {
	srv, up, f := bodyGatewayFixture(t)
	f.h.bodies.timeout = 300 * time.Millisecond
	for _, tt := range []struct {
		name, head string
		want       int
	}{
		{"refused", "POST /admin/x HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\n", http.StatusUnauthorized},
		{"no route", "PUT /nowhere HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\n", http.StatusNotFound},
		{"forward-auth", "POST /oauth2/auth HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\n", http.StatusForbidden},
		{"sign-out", "POST /oauth2/sign_out HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\n", http.StatusFound},
		{"back-channel logout, cookie store", "POST /oauth2/backchannel_logout HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/x-www-form-urlencoded\r\n", http.StatusNotImplemented},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp := rawRequest(t, srv, tt.head+"Content-Length: 100\r\n\r\nten bytes.", false)
			if resp.StatusCode != tt.want || !resp.Close {
				t.Errorf("status %d, close %v, want %d and the connection closed", resp.StatusCode, resp.Close, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("answered after %v", d)
			}
		})
	}
	if n := up.bytesIn.Load(); n != 0 {
		t.Errorf("the upstream received %d bytes", n)
	}
}

// TestHTTP2BodyErrorKeepsConnection: a stream whose body is malformed
// (shorter than its Content-Length) gets its 400, and the HTTP/2
// connection stays: abandonBody's "Connection: close" made Go's server send
// GOAWAY, so one client's bad body ended the connection for every other
// stream on it (behind a front proxy that multiplexes clients onto one
// connection, theirs).
func TestHTTP2BodyErrorKeepsConnection(t *testing.T) {
	f := newFixture(t)
	fr := h2Dial(t, serveHTTP2(t, f))
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	head := func(id uint32, method string, fields ...hpack.HeaderField) {
		hb.Reset()
		for _, hf := range append([]hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "gw.test"}, {Name: ":path", Value: "/public/x"}}, fields...) {
			_ = enc.WriteField(hf)
		}
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndStream: method == "GET", EndHeaders: true})
	}
	head(1, "POST", hpack.HeaderField{Name: "content-length", Value: "10"})
	_ = fr.WriteData(1, true, []byte("abc"))
	statuses := map[uint32]string{}
	dec := hpack.NewDecoder(4096, nil)
	for len(statuses) < 2 {
		fm, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %v: %v", statuses, err)
		}
		switch fm := fm.(type) {
		case *http2.HeadersFrame:
			hs, _ := dec.DecodeFull(fm.HeaderBlockFragment())
			for _, h := range hs {
				if h.Name == ":status" {
					statuses[fm.StreamID] = h.Value
				}
			}
			if fm.StreamID == 1 {
				head(3, "GET") // the next request on the same connection
			}
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY after the malformed body; answers so far %v", statuses)
		case *http2.SettingsFrame:
			if !fm.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	}
	if statuses[1] != "400" || statuses[3] != "200" {
		t.Errorf("statuses %v, want 400 for the malformed body and 200 for the next stream", statuses)
	}
}
