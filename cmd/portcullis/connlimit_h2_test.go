package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestMaxConnectionsKeepsBusyHTTP2: an HTTP/2 connection in cleartext
// (h2c, as a load balancer in front speaks it for gRPC, carrying many
// clients' calls) serving a request is not the one a new connection
// replaces at max_connections: the connection that waits without one is.
// It pins what connState relies on: net/http's HTTP/2 server reports the
// connection active while it has streams and idle once they end, for an
// h2c connection with the listener's own connection (not a *tls.Conn).
// Were it reported only as new, the busy connection would be the oldest
// waiting, and one silent connection past the bound would cut every call
// on it. Once its streams end it waits again, and is replaced as an idle
// HTTP/1.1 connection is.
func TestMaxConnectionsKeepsBusyHTTP2(t *testing.T) {
	release := make(chan struct{})
	var atApp atomic.Int32
	slow := func(w http.ResponseWriter, r *http.Request) { atApp.Add(1); <-release }
	f := newFixtureWith(t, nil, slow, func(c *testConfig) {
		c.extra = "max_connections = 2"
		c.route = "[[routes]]\npath = \"/slow\"\nupstream = \"app\"\npublic = true\n"
	})
	raw := dialGateway(t, f)
	cc := h2cConn(t, raw)
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://x/slow", nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Logf("the h2c request failed: %v", err)
			done <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitUntil(t, "the h2c request at the upstream", func() bool { return atApp.Load() == 1 })
	silent := dialGateway(t, f)
	time.Sleep(20 * time.Millisecond)
	past := dialGateway(t, f)
	if !closedByGateway(silent) {
		t.Errorf("a connection that sent nothing was kept past max_connections")
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("the h2c connection serving a request was closed at the bound (status %d, want 200)", code)
	}

	// Its stream ended, it waits, since after past: the connections past
	// the bound replace past, then it.
	// The server reports it idle after the client saw the stream end.
	waitUntil(t, "the h2c connection waiting", func() bool { return waitingConns(f) == 2 })
	dialGateway(t, f)
	if !closedByGateway(past) {
		t.Errorf("a connection that sent nothing was kept past max_connections")
	}
	dialGateway(t, f)
	if !closedByGateway(raw) {
		t.Errorf("the h2c connection, idle, was kept past max_connections")
	}
}

// h2cConn is net/http's own HTTP/2 client on raw, in cleartext with prior
// knowledge (h2c, no Upgrade from HTTP/1.1), as a load balancer speaks it.
func h2cConn(t *testing.T, raw net.Conn) *http.ClientConn {
	t.Helper()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &p, DialContext: func(context.Context, string, string) (net.Conn, error) {
		c := raw
		if raw = nil; c == nil {
			return nil, errors.New("h2cConn: a second connection asked for")
		}
		return c, nil
	}}
	cc, err := tr.NewClientConn(context.Background(), "http", raw.RemoteAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
