package main

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TestSlowRequestStartCutByHeaderTimeout replays CVE-2026-56853: a server
// that serves HTTP/2 in cleartext (the gateway does, with prior knowledge)
// read the first bytes of each connection, to see whether they were the
// HTTP/2 preface, without ReadHeaderTimeout, so a client that sent them
// slowly held its connection (and a place under server.max_connections)
// for as long as it liked. Each connection here stops partway through the
// preface, right after it, or partway through an HTTP/1.1 header; the
// gateway closes each within its 10 s header timeout (and a margin for a
// loaded machine). One that stops right after the preface is closed by
// Go's HTTP/2 server itself, after about 2 s with ReadHeaderTimeout raised
// to 30 s or removed alike: that case guards the library, the other three
// the gateway's ReadHeaderTimeout (each fails with either change).
func TestSlowRequestStartCutByHeaderTimeout(t *testing.T) {
	f := newFixture(t, nil, nil)
	starts := map[string]string{
		"part of the h2c preface":  "PRI * HTTP/2.0\r\n\r\nSM\r",
		"the h2c preface, no more": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"part of an HTTP/1.1 head": "GET / HTTP/1.1\r\nHost: gw.test\r\n",
		"one byte":                 "P",
	}
	const bound = 15 * time.Second
	var wg sync.WaitGroup
	for name, start := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", f.cfg.listen)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			began := time.Now()
			_, _ = io.WriteString(c, start)
			_ = c.SetReadDeadline(began.Add(bound + 5*time.Second))
			_, _ = io.Copy(io.Discard, c) // until the gateway closes (or the deadline)
			if took := time.Since(began); took > bound {
				t.Errorf("%s: connection held for %v, want it closed within %v", name, took.Round(time.Second), bound)
			} else {
				t.Logf("%s: closed after %v", name, took.Round(100*time.Millisecond))
			}
		}()
	}
	wg.Wait()
}
