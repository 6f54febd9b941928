package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimit bounds the client connections a listener holds ([server]
// max_connections): net/http accepts without a bound, and each idle
// keep-alive connection holds a goroutine and its buffers (about 20 KiB)
// for up to IdleTimeout, so clients with many addresses could make the
// gateway hold any amount of memory and every file descriptor, the
// upstreams', the provider's and Redis's included. At the bound a new
// connection takes the place of the one that has waited the longest without
// a request being served on it (idle between requests, or not done sending
// its first request's headers), which its client reopens when it needs one
// (as after IdleTimeout); when every one is serving a request, the new
// connection is closed at once.
type connLimit struct {
	net.Listener
	max  int
	log  *slog.Logger
	name string // the bound the warning names

	mu   sync.Mutex
	open int
	// The connections serving no request, in the order they began to wait
	// (oldest first): a list through the connections themselves, so that a
	// request's coming and going allocates nothing.
	first, last *limitedConn
	lastWarn    time.Time
}

// limitConns wraps ln with a bound of max connections, which warnings call
// name; the server that serves ln must report to the result's connState.
func limitConns(ln net.Listener, max int, name string, log *slog.Logger) *connLimit {
	return &connLimit{Listener: ln, max: max, name: name, log: log}
}

// Accept returns the next connection that fits under the bound.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit counts c in, closing the connection that has waited the longest to
// make room, or closes c and returns nil when every one serves a request.
func (l *connLimit) admit(c net.Conn) net.Conn {
	l.mu.Lock()
	var victim *limitedConn
	if l.open >= l.max {
		if victim = l.longestWaiting(); victim == nil {
			l.warn("every connection is serving a request; a new one was closed")
			l.mu.Unlock()
			c.Close()
			return nil
		}
		l.warn("the connection that waited the longest was closed for a new one")
		l.stopWaiting(victim)
		l.open-- // and victim's Close gives back nothing more
		victim.counted = false
	}
	l.open++
	// It waits from its accept on: net/http reports it new only once
	// Accept has returned, which on a busy machine can be after another
	// connection, which waited less, began to wait.
	lc := &limitedConn{Conn: c, l: l, counted: true}
	l.startWaiting(lc)
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
	return lc
}

// longestWaiting is the connection that has waited the longest, or nil;
// l.mu is held.
func (l *connLimit) longestWaiting() *limitedConn { return l.first }

// startWaiting puts c at the back of the waiting line, once; l.mu is held.
func (l *connLimit) startWaiting(c *limitedConn) {
	if c.waiting {
		return
	}
	c.waiting, c.prev, c.next = true, l.last, nil
	if l.last != nil {
		l.last.next = c
	} else {
		l.first = c
	}
	l.last = c
}

// stopWaiting takes c out of the waiting line; l.mu is held.
func (l *connLimit) stopWaiting(c *limitedConn) {
	if !c.waiting {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.first = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.last = c.prev
	}
	c.waiting, c.prev, c.next = false, nil, nil
}

// warn logs msg at most once a minute; l.mu is held.
func (l *connLimit) warn(msg string) {
	if now := time.Now(); now.Sub(l.lastWarn) >= time.Minute {
		l.lastWarn = now
		l.log.Warn(l.name+" reached: "+msg, "max_connections", l.max)
	}
}

// connState follows which connections serve no request
// (http.Server.ConnState): new ones (net/http reports a request active once
// its headers are read) and idle ones.
func (l *connLimit) connState(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	switch {
	case (st == http.StateNew || st == http.StateIdle) && lc.counted:
		l.startWaiting(lc)
	default:
		l.stopWaiting(lc)
	}
	l.mu.Unlock()
}

// limitedConn is a connection counted by its connLimit until it is closed.
type limitedConn struct {
	net.Conn
	l *connLimit
	// Guarded by l.mu: counted in l.open; in l's waiting list, between
	// prev and next.
	counted, waiting bool
	prev, next       *limitedConn
}

// Close closes the connection and gives its place back.
func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	if c.counted {
		c.counted = false
		c.l.open--
		c.l.stopWaiting(c)
	}
	c.l.mu.Unlock()
	return c.Conn.Close()
}
