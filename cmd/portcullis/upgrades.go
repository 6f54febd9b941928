package main

import (
	"bufio"
	"context"
	"log/slog"
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
	// Set by limit before the server starts: at most max upgrade requests
	// at once (0: no bound), and idle closes an upgraded connection silent
	// both ways for that long (0: never).
	max  int
	idle time.Duration
	log  *slog.Logger

	mu       sync.Mutex
	active   int                   // upgrade requests being served
	conns    map[net.Conn]struct{} // their hijacked connections
	refused  int                   // upgrades refused since the last warning
	lastWarn time.Time
}

// upgradeShare is the share of server.max_connections upgraded connections
// may hold, in quarters: an upgraded connection counts as serving a
// request for as long as it lives, and is never closed to make room, so
// that with no share kept back idle WebSockets on a public route took every
// slot and every new request failed. Three quarters leave WebSocket-heavy
// applications most of the bound, and the quarter kept back (2,500 at the
// default) serves plain requests, whose idle connections give way to new
// ones at the bound.
const upgradeShare = 3

// upgradeRetryAfter is the Retry-After, in seconds, of an upgrade refused
// at the share: WebSocket clients reconnect with backoff, and a few seconds
// let the connections that end meanwhile make room.
const upgradeRetryAfter = "5"

// limit bounds the upgraded connections to their share of maxConns (0: no
// bound) and closes those silent both ways for idle (0: never).
func (t *upgradeTracker) limit(maxConns int, idle time.Duration, log *slog.Logger) {
	t.max, t.idle, t.log = maxConns*upgradeShare/4, idle, log
	if maxConns > 0 && t.max == 0 {
		t.max = -1 // a bound of 1: no upgrade
	}
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
		if !t.enter() {
			w.Header().Set("Retry-After", upgradeRetryAfter)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, "too many upgraded connections; retry later", http.StatusServiceUnavailable)
			return
		}
		hw := &hijackWriter{ResponseWriter: w, t: t}
		defer t.leave(hw)
		// The reverse proxy copies an upgraded connection inside ServeHTTP,
		// so this returns when the WebSocket ends.
		h.ServeHTTP(hw, r)
	})
}

// enter counts an upgrade request in, or refuses it (false) when the
// upgrades being served hold their share of server.max_connections, with
// a warning at most once a minute counting the refusals.
func (t *upgradeTracker) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.max != 0 && t.active >= t.max {
		t.refused++
		if now := time.Now(); now.Sub(t.lastWarn) >= time.Minute {
			t.lastWarn = now
			t.log.Warn("upgraded connections reached their share of server.max_connections: upgrades refused with 503",
				"upgraded", t.active, "refused", t.refused)
			t.refused = 0
		}
		return false
	}
	t.active++
	return true
}

// leave counts hw's upgrade request out.
func (t *upgradeTracker) leave(hw *hijackWriter) {
	t.mu.Lock()
	t.active--
	if hw.conn != nil {
		delete(t.conns, hw.conn)
	}
	t.mu.Unlock()
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
	if w.t.idle > 0 {
		c = watchIdle(c, w.t.idle)
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
