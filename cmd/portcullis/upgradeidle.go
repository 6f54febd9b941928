package main

import (
	"math"
	"net"
	"sync/atomic"
	"time"
)

// idleConn is an upgraded connection (a WebSocket) that is closed once
// neither side has sent a byte for idle (server.upgrade_idle_timeout), as
// nginx's proxy_read_timeout closes one: the reverse proxy reads the
// client's bytes from it and writes the upstream's to it, and closing it
// ends both copies and the upstream connection. Before, an idle upgraded
// connection lived for ever, counted as serving a request at
// server.max_connections.
type idleConn struct {
	net.Conn
	idle  time.Duration
	start time.Time
	last  atomic.Int64 // when a byte last passed, since start (monotonic)
	timer *time.Timer
}

// watchIdle returns c, closed once idle for idle.
func watchIdle(c net.Conn, idle time.Duration) *idleConn {
	ic := &idleConn{Conn: c, idle: idle, start: time.Now()}
	// Started far off and reset, so that check never runs before timer is set.
	ic.timer = time.AfterFunc(math.MaxInt64, ic.check)
	ic.timer.Reset(idle)
	return ic
}

// check closes the connection if it has been idle for c.idle, else looks
// again when it would have been.
func (c *idleConn) check() {
	since := time.Since(c.start) - time.Duration(c.last.Load())
	if since < c.idle {
		c.timer.Reset(c.idle - since)
		return
	}
	c.Conn.Close()
}

func (c *idleConn) active() { c.last.Store(int64(time.Since(c.start))) }

// Read reads the client's bytes.
func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.active()
	}
	return n, err
}

// Write writes the upstream's bytes.
func (c *idleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.active()
	}
	return n, err
}

// Close stops the watch and closes the connection.
func (c *idleConn) Close() error {
	c.timer.Stop()
	return c.Conn.Close()
}
