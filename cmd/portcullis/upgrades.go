package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// upgradeTracker follows the requests that upgrade their connection
// (WebSockets): http.Server.Shutdown neither waits for nor closes hijacked
// connections. Requests without an Upgrade header pass straight through,
// counted in serving only.
type upgradeTracker struct {
	// serving counts every request whose handler runs: http.Server.Close,
	// at the shutdown timeout, does not wait for them, and their access-log
	// lines are written as they return (settle).
	serving atomic.Int64
	mu      sync.Mutex
	active  int                   // upgrade requests being served
	conns   map[net.Conn]struct{} // their hijacked connections
}

// wrap returns h with upgrade requests tracked.
func (t *upgradeTracker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.serving.Add(1)
		defer t.serving.Add(-1)
		if r.Header.Get("Upgrade") == "" {
			h.ServeHTTP(w, r)
			return
		}
		t.mu.Lock()
		t.active++
		t.mu.Unlock()
		hw := &hijackWriter{ResponseWriter: w, t: t}
		defer func() {
			t.mu.Lock()
			t.active--
			if hw.conn != nil {
				delete(t.conns, hw.conn)
			}
			t.mu.Unlock()
		}()
		// The reverse proxy copies an upgraded connection inside ServeHTTP,
		// so this returns when the WebSocket ends.
		h.ServeHTTP(hw, r)
	})
}

// drain waits until no upgrade request is being served or ctx ends; then it
// closes the connections still open and returns how many it closed.
func (t *upgradeTracker) drain(ctx context.Context) int {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		n := t.active
		t.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		break
	}
	t.mu.Lock()
	closed := len(t.conns)
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	return closed
}

// settle waits up to limit for the handlers still running to return. Once
// their connections are closed they do so at once (the proxy's call
// upstream ends with the request's context), writing their access-log
// lines, which an exit before them would lose.
func (t *upgradeTracker) settle(limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for t.serving.Load() > 0 {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// hijackWriter records the connection its request hijacks.
type hijackWriter struct {
	http.ResponseWriter
	t    *upgradeTracker
	conn net.Conn
}

// Hijack hijacks the underlying connection and tracks it.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.t.mu.Lock()
	if w.t.conns == nil {
		w.t.conns = make(map[net.Conn]struct{})
	}
	w.t.conns[c] = struct{}{}
	w.conn = c
	w.t.mu.Unlock()
	return c, brw, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
