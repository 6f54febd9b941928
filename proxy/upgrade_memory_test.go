//go:build !race

package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestUpgradesLeaveNothingBehind: an upgraded connection (a WebSocket)
// holds its goroutines, buffers and recheck timer while it is open, and
// nothing once it has closed. Three times, 300 signed-in WebSockets are
// opened through a real listener and held (six goroutines each, with the
// test's listeners), then their clients hang up: the goroutines must come
// back to where they were and the live heap within 1 MiB. A recheck or a
// copy loop that outlived its connection would leave 900 goroutines behind,
// anything kept per connection over 1.2 KB the heap.
func TestUpgradesLeaveNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 300 connections")
	}
	// An upstream that keeps no record of its requests (the stub does).
	app := httptest.NewServer(http.HandlerFunc(echoUpgrade))
	t.Cleanup(app.Close)
	f := newFixture(t, func(c *Config) { c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, app.URL)}} })
	srv := serveGateway(t, f)
	addr := strings.TrimPrefix(srv.URL, "http://")
	cookie := ""
	for _, c := range f.cookies(t, f.session()) {
		cookie += c.Name + "=" + c.Value + "; "
	}
	open := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = io.WriteString(conn, "GET /app/ws HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			wsKey+"Cookie: "+cookie+"\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		echoes(t, conn, br)
		return conn
	}
	// hold opens n WebSockets, holds them all, then hangs up, and returns
	// how many goroutines they held.
	hold := func(n int) int {
		before := runtime.NumGoroutine()
		conns := make([]net.Conn, n)
		for i := range conns {
			conns[i] = open()
		}
		held := runtime.NumGoroutine() - before
		for _, c := range conns {
			c.Close()
		}
		return held
	}
	// The first round builds what stays: the upstream transport, and the
	// goroutine descriptors, which Go keeps for reuse (some 900 KiB).
	base := runtime.NumGoroutine()
	hold(300)
	settle(t, base)
	goroutines := runtime.NumGoroutine()
	heap := testenv.HeapAfterGC()
	for range 3 {
		if held := hold(300); held < 300 {
			t.Fatalf("300 open WebSockets hold %d goroutines: not held open", held)
		}
		settle(t, goroutines)
	}
	left := settle(t, goroutines)
	grown := testenv.HeapAfterGC() - heap
	t.Logf("after 900 WebSockets closed: %d goroutines more, heap %+d KiB", left, grown>>10)
	if left > 5 {
		t.Errorf("%d goroutines left after 900 WebSockets closed", left)
	}
	if grown > 1<<20 {
		t.Errorf("900 closed WebSockets left %d KiB on the heap, over 1 MiB", grown>>10)
	}
}

// settle waits up to 5 s for the goroutines to come down to want, and
// returns how many more there are.
func settle(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want+5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return max(runtime.NumGoroutine()-want, 0)
}
