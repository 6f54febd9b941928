package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
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
		if code := roundTripTo(t, c, "GET /healthz HTTP/1.1\r\nHost: ops\r\n\r\n"); code != http.StatusOK {
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

// TestOpsListenerClientThatStopsReading: the ops listener had no write
// timeout, so a client that asked for /metrics (or a profile) and read
// nothing held its connection's goroutines and buffers for ever, counted
// as serving a request, which the connection bound never closes to make
// room: the bound's worth of such clients, with nothing but pipelined GETs
// and a small receive window, refused every probe for as long as they
// stayed (on a real gateway 64 of them still refused /healthz after
// 130 s). Each such answer must now be cut within the write timeout, and a
// probe after them answered; a CPU profile longer than the write timeout
// is still served whole.
func TestOpsListenerClientThatStopsReading(t *testing.T) {
	defer func(d time.Duration) { opsWriteTimeout = d }(opsWriteTimeout)
	opsWriteTimeout = time.Second
	f := newFixtureWith(t, nil, nil, func(c *testConfig) { c.extra = "pprof = true\n" })
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1<<10) })
	}}
	for i := 0; i < opsMaxConnections; i++ {
		c, err := d.Dial("tcp", f.cfg.ops)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		// The client reads one byte, once its answer has begun, then nothing.
		// On a loaded machine the write timeout may have cut the connection
		// before this read (a reset, which discards what arrived): served all
		// the same, and cut as it must be.
		io.WriteString(c, strings.Repeat("GET /metrics HTTP/1.1\r\nHost: ops\r\n\r\n", 400))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
			t.Fatalf("connection %d: no answer begun: %v", i, err)
		}
	}
	waitProbe(t, f.cfg.ops, 10*time.Second)
	resp, err := http.Get("http://" + f.cfg.ops + "/debug/pprof/profile?seconds=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if n, err := io.Copy(io.Discard, resp.Body); resp.StatusCode != http.StatusOK || err != nil || n == 0 {
		t.Errorf("a 2 s profile under a 1 s write timeout: status %d, %d bytes, %v", resp.StatusCode, n, err)
	}
}

// waitProbe waits up to limit for ops to answer /healthz with 200.
func waitProbe(t *testing.T, ops string, limit time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get("http://" + ops + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d ops connections whose client reads nothing still refuse a probe after %v: %v", opsMaxConnections, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
