package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawGet sends one HTTP/1.1 request to srv over a fresh connection and
// returns everything the gateway wrote until it closed the connection.
func rawGet(t *testing.T, addr, req string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(bufio.NewReader(conn))
	return string(b)
}

// TestUpstreamTrailersCannotCarryControlledFields: an application answers
// with trailer fields named like the ones the gateway controls on the
// header (Set-Cookie for its own cookie, Cache-Control), announced with
// Trailer: or not. None of them reaches the client; an ordinary trailer
// (gRPC's status, Server-Timing) still does.
func TestUpstreamTrailersCannotCarryControlledFields(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Set-Cookie, Cache-Control, Grpc-Status")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "body")
		http.NewResponseController(w).Flush()
		w.Header().Set("Set-Cookie", "portcullis=planted; Path=/")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set(http.TrailerPrefix+"Set-Cookie", "__Host-portcullis=planted2; Path=/; Secure")
		w.Header().Set(http.TrailerPrefix+"Cdn-Cache-Control", "max-age=3600")
		w.Header().Set(http.TrailerPrefix+"X-Forwarded-User", "mallory")
		w.Header().Set(http.TrailerPrefix+"Server-Timing", "db;dur=1")
	})
	srv := serveGateway(t, f)
	got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"),
		"GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
	head, rest, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 200") {
		t.Fatalf("answer: %q", got)
	}
	lower := strings.ToLower(rest)
	for _, bad := range []string{"set-cookie", "cache-control", "x-forwarded-user", "planted"} {
		if strings.Contains(lower, bad) {
			t.Errorf("a trailer %q reached the client: %q", bad, rest)
		}
	}
	for _, ok := range []string{"grpc-status: 0", "server-timing: db;dur=1"} {
		if !strings.Contains(lower, ok) {
			t.Errorf("the trailer %q was lost: %q", ok, rest)
		}
	}
	if strings.Contains(strings.ToLower(head), "planted") {
		t.Errorf("a trailer reached the header: %q", head)
	}
}

// TestUnaskedSwitchingProtocolsIs502: an application answers 101 to a
// request that asked for no upgrade, or switches to another protocol than
// the one asked. The client gets 502 and nothing is spliced: no byte the
// application writes after its 101 reaches the client.
func TestUnaskedSwitchingProtocolsIs502(t *testing.T) {
	answers := map[string]string{
		"unasked websocket": "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nSPLICED\n",
		"bare 101":          "HTTP/1.1 101 Switching Protocols\r\n\r\nSPLICED\n",
		"other protocol":    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\nSPLICED\n",
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
				conn, brw, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				defer conn.Close()
				_, _ = brw.WriteString(answer)
				_ = brw.Flush()
				_, _ = io.Copy(io.Discard, brw) // until the gateway hangs up
			})
			cookie := ""
			for _, c := range f.cookies(t, f.session()) {
				cookie += c.Name + "=" + c.Value + "; "
			}
			srv := serveGateway(t, f)
			asked := ""
			if name == "other protocol" {
				asked = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
			}
			for _, path := range []string{"/public/x", "/app/x"} {
				got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"),
					"GET "+path+" HTTP/1.1\r\nHost: gw.test\r\nCookie: "+cookie+"\r\n"+asked+"Connection: close\r\n\r\n")
				if !strings.HasPrefix(got, "HTTP/1.1 502") || strings.Contains(got, "SPLICED") {
					t.Errorf("%s: %q", path, got)
				}
			}
		})
	}
}

// TestRefusedSwitchingProtocolsClosesUpstream: the connection of a 101
// the gateway refuses (not asked for, or another protocol) belongs to the
// gateway once the transport hands it over; it is closed at once, not
// left open until a garbage collection finds it (an application that
// answers every request so made the gateway hold a descriptor each).
func TestRefusedSwitchingProtocolsClosesUpstream(t *testing.T) {
	closed := make(chan bool, 1)
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, err = io.Copy(io.Discard, brw)
		closed <- err == nil // EOF: the gateway hung up
	})
	srv := serveGateway(t, f)
	got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), "GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 502") {
		t.Fatalf("answer: %q", got)
	}
	if !<-closed {
		t.Fatal("the gateway kept the upstream connection of a refused 101 open")
	}
}

// TestHugeResponseHeaderIs502: an application whose answer's header block
// runs to megabytes (a broken loop adding a header, or a hostile app) made
// the gateway read and hold up to Go's default of 10 MiB per answer and
// pass it on. Past maxResponseHeaderBytes the client gets 502; a large but
// sane header block (a long Content-Security-Policy, many cookies) passes.
func TestHugeResponseHeaderIs502(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		n := 8 // 64 KB
		if r.URL.Path == "/public/huge" {
			n = 1200 // 9.6 MB
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\n")
		for i := 0; i < n; i++ {
			if _, err := brw.WriteString("X-Big: " + strings.Repeat("a", 8000) + "\r\n"); err != nil {
				return
			}
		}
		_, _ = brw.WriteString("Content-Length: 2\r\n\r\nok")
		_ = brw.Flush()
	})
	srv := serveGateway(t, f)
	for path, want := range map[string]int{"/public/huge": http.StatusBadGateway, "/public/large": http.StatusOK} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want || (want == http.StatusBadGateway && resp.Header.Get("X-Big") != "") {
			t.Errorf("%s: status %d, %d X-Big fields", path, resp.StatusCode, len(resp.Header["X-Big"]))
		}
	}
}

// TestClientThatStopsReadingReleasesUpstream: a client asks for a large
// answer (a download, an event stream) and stops reading. The gateway's
// writes block once the socket buffers are full; with no write deadline
// they blocked for ever, holding the upstream connection (and, behind a
// thread-per-request application, one of its workers) for a connection the
// client spends nothing on. A write that makes no progress for sendIdle
// now ends the answer and the upstream request.
func TestClientThatStopsReadingReleasesUpstream(t *testing.T) {
	released := make(chan struct{})
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(released)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	f.h.sendIdle = 300 * time.Millisecond
	srv := serveGateway(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /public/big HTTP/1.1\r\nHost: gw.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select { // the client reads nothing
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request is still held for a client that stopped reading")
	}
}

// TestSlowStreamWithReadingClientLasts: the write deadline counts from
// each write: an answer whose upstream pauses longer than sendIdle between
// writes (an event stream, a long poll), and one that ends after such a
// pause, reach a client that reads.
func TestSlowStreamWithReadingClientLasts(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 3; i++ {
			_, _ = io.WriteString(w, "data: tick\n\n")
			http.NewResponseController(w).Flush()
			time.Sleep(400 * time.Millisecond)
		}
	})
	f.h.sendIdle = 200 * time.Millisecond
	srv := serveGateway(t, f)
	for i := 0; i < 2; i++ { // the second on the kept-alive connection
		resp, err := http.Get(srv.URL + "/public/events")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || strings.Count(string(b), "tick") != 3 {
			t.Fatalf("stream %d: %q, %v", i, b, err)
		}
		time.Sleep(400 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/denied/x") // a gateway page after an idle pause
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// TestSendDeadlineOverHTTP2: over HTTP/2 the deadline is the stream's: a
// stream that pauses longer than sendIdle reaches a reading client, and a
// stream nobody reads (its flow-control window spent) ends the upstream
// request.
func TestSendDeadlineOverHTTP2(t *testing.T) {
	released := make(chan struct{}, 1)
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/public/big" {
			defer func() { released <- struct{}{} }()
			chunk := []byte(strings.Repeat("x", 32<<10))
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
		for i := 0; i < 3; i++ {
			_, _ = io.WriteString(w, "tick\n")
			http.NewResponseController(w).Flush()
			time.Sleep(400 * time.Millisecond)
		}
	})
	f.h.sendIdle = 200 * time.Millisecond
	srv := httptest.NewUnstartedServer(f.h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	resp, err := client.Get(srv.URL + "/public/events")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.ProtoMajor != 2 || err != nil || strings.Count(string(b), "tick") != 3 {
		t.Fatalf("%s: %q, %v", resp.Proto, b, err)
	}
	resp, err = client.Get(srv.URL + "/public/big")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // the client reads nothing
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request is still held for an HTTP/2 stream nobody reads")
	}
}

// TestUpgradedClientThatStopsReadingReleasesUpstream: the same for an
// upgraded connection (a WebSocket): an application that pushes to a
// client that reads nothing is released once a write waited sendIdle; an
// idle connection, with nothing to write, stays open.
func TestUpgradedClientThatStopsReadingReleasesUpstream(t *testing.T) {
	released, pushed := make(chan struct{}), make(chan struct{})
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		defer close(released)
		_, _ = brw.WriteString(switchedTo(r))
		_ = brw.Flush()
		if line, err := brw.ReadString('\n'); err != nil || line != "push\n" {
			return
		}
		close(pushed)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for {
			_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	})
	f.h.sendIdle = 300 * time.Millisecond
	srv := serveGateway(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /public/ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+wsKey+"\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	time.Sleep(600 * time.Millisecond) // idle for longer than sendIdle: still open
	_, _ = io.WriteString(conn, "push\n")
	select { // the client reads nothing
	case <-released:
	case <-time.After(8 * time.Second):
		t.Fatal("the upstream connection is still held for an upgraded client that stopped reading")
	}
	select {
	case <-pushed:
	default:
		t.Fatal("the upgraded connection was closed while idle, before the client's push: an idle connection is not a stalled one")
	}
}

// TestUpgradedHalfClosePassedOn: an application that ends its side of an
// upgraded connection (after its last message) still half-closes the
// client's side through the bounded connection: the client reads the
// message, then the end, and can still write.
func TestUpgradedHalfClosePassedOn(t *testing.T) {
	got := make(chan string, 1)
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString(switchedTo(r) + "bye\n")
		_ = brw.Flush()
		_ = conn.(*net.TCPConn).CloseWrite()
		line, _ := brw.ReadString('\n')
		got <- line
	})
	srv := serveGateway(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(conn, "GET /public/ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+wsKey+"\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "bye\n" {
		t.Fatalf("read %q, %v; want the message, then the end", rest, err)
	}
	_, _ = io.WriteString(conn, "after\n")
	select {
	case line := <-got:
		if line != "after\n" {
			t.Errorf("the application read %q after its half-close", line)
		}
	case <-time.After(5 * time.Second):
		t.Error("the client's write after the half-close never arrived")
	}
}

// TestUpgradeAnswerToClientThatReadsNothingReleasesUpstream: the 101
// itself, whose header block the application writes (up to 256 KiB), is
// written to the client under the same bound as what follows it: a client
// that reads nothing held the upstream connection for ever while the
// gateway waited to write that header block.
func TestUpgradeAnswerToClientThatReadsNothingReleasesUpstream(t *testing.T) {
	released := make(chan struct{})
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		defer close(released)
		_, _ = brw.WriteString(strings.TrimSuffix(switchedTo(r), "\r\n"))
		for i := 0; i < 240; i++ { // 240 KiB, under maxResponseHeaderBytes
			_, _ = brw.WriteString("X-Filler: " + strings.Repeat("x", 1010) + "\r\n")
		}
		_, _ = brw.WriteString("\r\n")
		_ = brw.Flush()
		_, _ = brw.ReadString('\n') // until the gateway closes the connection
	})
	f.h.sendIdle = 300 * time.Millisecond
	// Small socket buffers on both ends (loopback's would absorb the 101).
	srv := httptest.NewUnstartedServer(f.h)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<10) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /public/ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+wsKey+"\r\n")
	select { // the client reads nothing
	case <-released:
	case <-time.After(8 * time.Second):
		t.Fatal("the upstream connection is still held while the 101 waits for a client that reads nothing")
	}
}

// smallSendBuffers is a listener whose connections have a 4 KiB send
// buffer, so that a client that reads nothing blocks the gateway's writes.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}
