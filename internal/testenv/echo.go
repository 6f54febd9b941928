package testenv

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// LineEcho starts an echo service (RFC 862) on 127.0.0.1, what a URL with
// the wrong port (an upstream's, a directory's) or an echoing egress proxy
// reaches: it sends back each line it gets, until the test ends. It returns
// the service's http:// URL.
func LineEcho(tb testing.TB) string {
	tb.Helper()
	return ServeConns(tb, echoLines)
}

// ServeConns accepts connections on 127.0.0.1 until the test ends, each
// handled by serve on a goroutine of its own, and returns the listener's
// http:// URL: a peer that speaks no HTTP, or speaks it wrong.
func ServeConns(tb testing.TB, serve func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// echoLines writes back each line read from c, for at most 5 s.
func echoLines(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if _, werr := c.Write([]byte(line)); err != nil || werr != nil {
			return
		}
	}
}
