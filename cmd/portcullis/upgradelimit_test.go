package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wsUpstream accepts WebSocket upgrades and echoes lines until the
// connection ends; after "push\n" it also sends "tick\n" every 50 ms
// unasked. asked counts the upgrade requests that reached it, opened
// those it switched, ended those that ended.
type wsUpstream struct{ asked, opened, ended atomic.Int32 }

func (u *wsUpstream) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		io.WriteString(w, "upstream ok")
		return
	}
	u.asked.Add(1)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	u.opened.Add(1)
	defer u.ended.Add(1)
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	brw.Flush()
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		if line == "push\n" {
			go func() {
				for range time.Tick(50 * time.Millisecond) {
					if _, err := io.WriteString(conn, "tick\n"); err != nil {
						return
					}
				}
			}()
			continue
		}
		brw.WriteString("echo " + line)
		brw.Flush()
	}
}

// wsFixture is a gateway with a public route /ws to a wsUpstream and the
// [server] keys extra.
func wsFixture(t *testing.T, extra string) (*fixture, *wsUpstream) {
	up := &wsUpstream{}
	f := newFixtureWith(t, nil, up.serve, func(c *testConfig) {
		c.extra = extra
		c.route = "[[routes]]\npath = \"/ws\"\nupstream = \"app\"\npublic = true\n"
	})
	return f, up
}

// openWS sends a WebSocket upgrade of /ws on a new connection and returns
// the answer (nil when the gateway closed the connection instead).
func openWS(t *testing.T, f *fixture) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c := dialGateway(t, f)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return c, br, nil
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	_ = c.SetDeadline(time.Time{})
	return c, br, resp
}

// TestUpgradeFloodLeavesRequestsServed: idle WebSockets on a public route
// cannot take every server.max_connections slot. Before, an upgraded
// connection counted as serving a request for as long as it lived, and as
// many of them as the bound made every new request fail (the connection
// closed without an answer). Now upgraded connections hold at most three
// quarters of the bound: an upgrade past it is answered 503 with
// Retry-After before the upstream is dialled, logged once, and requests
// are served.
func TestUpgradeFloodLeavesRequestsServed(t *testing.T) {
	f, up := wsFixture(t, "max_connections = 8")
	switched, refused := 0, 0
	for i := 0; i < 12; i++ {
		_, _, resp := openWS(t, f)
		switch {
		case resp == nil:
		case resp.StatusCode == http.StatusSwitchingProtocols:
			switched++
		case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
			refused++
		default:
			t.Errorf("upgrade %d: status %d, Retry-After %q", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	waitUntil(t, "the upgrades at the upstream", func() bool { return int(up.opened.Load()) == switched })
	if n := up.asked.Load(); n != int32(switched) {
		t.Errorf("%d upgrade requests reached the upstream, %d switched: refused ones were forwarded", n, switched)
	}
	if switched != 6 || refused == 0 {
		t.Errorf("%d of 12 upgrades switched and %d refused with 503 and Retry-After, want 6 (3/4 of 8) and the rest", switched, refused)
	}
	c := dialGateway(t, f)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a plain request with the upgrades open: %v %v", resp, err)
	}
	if n := strings.Count(f.logs.String(), "upgraded connections reached"); n != 1 {
		t.Errorf("%d log lines for the refusals, want 1; logs:\n%s", n, f.logs)
	}
}

// TestUpgradeIdleTimeout: an upgraded connection on which neither side
// sent a byte for server.upgrade_idle_timeout is closed, at the client and
// at the upstream; one whose client talks, or whose upstream pushes, is
// kept. Before, an idle WebSocket lived for ever.
func TestUpgradeIdleTimeout(t *testing.T) {
	f, up := wsFixture(t, `upgrade_idle_timeout = "400ms"`)
	idle, idleBr, _ := openWS(t, f)
	chatty, chattyBr, _ := openWS(t, f)
	pushed, pushedBr, resp := openWS(t, f)
	if resp == nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v", resp)
	}
	io.WriteString(pushed, "push\n")
	start := time.Now()
	for time.Since(start) < 1200*time.Millisecond {
		io.WriteString(chatty, "ping\n")
		if line, err := chattyBr.ReadString('\n'); line != "echo ping\n" {
			t.Fatalf("the chatty connection after %v: %q %v", time.Since(start), line, err)
		}
		_ = pushed.SetReadDeadline(time.Now().Add(time.Second))
		if line, err := pushedBr.ReadString('\n'); line != "tick\n" {
			t.Fatalf("the pushed-to connection after %v: %q %v", time.Since(start), line, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idleBr.ReadString('\n'); err != io.EOF {
		t.Fatalf("the idle connection was not closed: %v", err)
	}
	waitUntil(t, "the idle connection to end at the upstream", func() bool { return up.ended.Load() == 1 })
}
