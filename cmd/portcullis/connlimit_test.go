package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMaxConnections: clients cannot make the gateway hold more than
// server.max_connections connections. At the bound a new connection takes
// the place of the one that has waited the longest without a request being
// served (idle between requests, still sending its headers, or silent since
// it connected); when every one serves a request (here, waiting on the
// upstream), the new one is closed at once instead of held.
func TestMaxConnections(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var atApp atomic.Int32
	slow := func(w http.ResponseWriter, r *http.Request) { atApp.Add(1); <-release }
	f := newFixtureWith(t, nil, slow, func(c *testConfig) {
		c.extra = "max_connections = 3"
		c.route = "[[routes]]\npath = \"/slow\"\nupstream = \"app\"\npublic = true\n"
	})
	idle := idleConns(t, f, 3)
	io.WriteString(idle[1], "GET /a HTTP/1.1\r\nHost: x\r\n") // headers that never end
	fresh := dialGateway(t, f)
	if code := roundTrip(t, fresh); code != http.StatusUnauthorized {
		t.Fatalf("a fourth connection, three idle: status %d, want 401", code)
	}
	if !closedByGateway(idle[0]) {
		t.Errorf("the longest-idle connection was kept past max_connections")
	}
	if closedByGateway(idle[2]) {
		t.Errorf("the most recently idle connection was closed too")
	}
	silent := dialGateway(t, f)
	if !closedByGateway(idle[1]) {
		t.Errorf("a connection still sending its headers was kept past max_connections")
	}

	// The bound holds idle[2], fresh and silent: the first two get busy.
	for _, c := range []net.Conn{idle[2], fresh} {
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	waitUntil(t, "two requests at the upstream", func() bool { return atApp.Load() == 2 })
	busy := dialGateway(t, f)
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	if !closedByGateway(silent) {
		t.Errorf("a connection that sent nothing was kept past max_connections")
	}
	waitUntil(t, "busy's request at the upstream", func() bool { return atApp.Load() == 3 })
	extra := dialGateway(t, f)
	io.WriteString(extra, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	if !closedByGateway(extra) {
		t.Errorf("a connection past max_connections, every one busy, was held")
	}
	if closedByGateway(busy) {
		t.Errorf("a connection serving a request was closed at the bound")
	}
	if !strings.Contains(f.logs.String(), "server.max_connections reached") {
		t.Errorf("no warning logged at the bound; logs:\n%s", f.logs)
	}
}

// idleConns dials n connections to the gateway and sends a request on
// each, which waits in the listener's line once answered, oldest first.
func idleConns(t *testing.T, f *fixture, n int) []net.Conn {
	t.Helper()
	idle := make([]net.Conn, n)
	for i := range idle {
		idle[i] = dialGateway(t, f)
		if code := roundTrip(t, idle[i]); code != http.StatusUnauthorized {
			t.Fatalf("idle connection %d: status %d, want 401", i, code)
		}
		// net/http reports the connection idle after it sent the answer:
		// wait for it, so that the connections wait in the order dialled.
		waitUntil(t, "the connection waiting", func() bool { return waitingConns(f) == i+1 })
	}
	return idle
}

// waitingConns is how many of the gateway listener's connections wait
// for a request (connLimit's line).
func waitingConns(f *fixture) int {
	lim := f.srv.gwLn.(*connLimit)
	lim.mu.Lock()
	defer lim.mu.Unlock()
	n := 0
	for c := lim.first; c != nil; c = c.next {
		n++
	}
	return n
}

func dialGateway(t *testing.T, f *fixture) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", f.cfg.listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends one keep-alive request on c and returns its status.
func roundTrip(t *testing.T, c net.Conn) int {
	t.Helper()
	return roundTripTo(t, c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
}

// roundTripTo sends the request req on c, keeping the connection, and
// returns the answer's status.
func roundTripTo(t *testing.T, c net.Conn, req string) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return resp.StatusCode
}

// closedByGateway reports whether the gateway closed c (without an
// answer) within a second.
func closedByGateway(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	n, err := c.Read(make([]byte, 1))
	return n == 0 && !errors.Is(err, os.ErrDeadlineExceeded)
}
