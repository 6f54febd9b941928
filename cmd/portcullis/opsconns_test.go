package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// TestOpsListenerConnectionsBounded: the ops listener held every
// connection a client opened, for the 120 s of its idle timeout (a
// goroutine, about 20 KiB and a file descriptor each), with no bound:
// server.max_connections bounds the gateway listener only. A real
// gateway's ops listener gets four times its bound in keep-alive
// connections, each after one /healthz; it must hold no more than the
// bound (its goroutines grow by at most that much), and a probe that
// comes after them is still answered.
func TestOpsListenerConnectionsBounded(t *testing.T) {
	f := newFixture(t, nil, nil)
	before := runtime.NumGoroutine()
	conns := make([]net.Conn, 4*opsMaxConnections)
	for i := range conns {
		c, err := net.Dial("tcp", f.cfg.ops)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
		if code := opsRoundTrip(t, c); code != http.StatusOK {
			t.Fatalf("connection %d: /healthz status %d", i, code)
		}
	}
	held := runtime.NumGoroutine() - before
	t.Logf("%d keep-alive connections: %d more goroutines", len(conns), held)
	if held > opsMaxConnections+8 {
		t.Errorf("%d idle ops connections hold %d goroutines, want at most %d", len(conns), held, opsMaxConnections+8)
	}
	resp, err := http.Get("http://" + f.cfg.ops + "/healthz")
	if err != nil {
		t.Fatalf("a probe after the flood: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a probe after the flood: status %d", resp.StatusCode)
	}
}

// opsRoundTrip sends one /healthz on c and returns its status.
func opsRoundTrip(t *testing.T, c net.Conn) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: ops\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return resp.StatusCode
}
