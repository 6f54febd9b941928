package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEndlessEarlyHintsEndAtUpstreamTimeout: an application answers 103
// Early Hints after 103, for ever, and never a final answer. Go's
// transport leaves the count of interim answers to a caller that sees them
// (the reverse proxy passes each on), so what ends it is the upstream's
// response-header timeout: the client gets the 502 then, and the upstream
// connection is closed.
func TestEndlessEarlyHintsEndAtUpstreamTimeout(t *testing.T) {
	closed := make(chan struct{})
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer close(closed)
		defer conn.Close()
		_ = brw.Flush()
		for {
			if _, err := io.WriteString(conn, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"); err != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}, func(c *Config) { c.Upstreams[0].Timeout = time.Second })
	srv := serveGateway(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /public/x HTTP/1.1\r\nHost: gw.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	hints := 0
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %d hints and %v: %v", hints, time.Since(start), err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusEarlyHints {
			hints++
			continue
		}
		if resp.StatusCode != http.StatusBadGateway || time.Since(start) > 5*time.Second {
			t.Fatalf("final answer %d after %v and %d hints, want 502 at the 1 s timeout", resp.StatusCode, time.Since(start), hints)
		}
		break
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream connection is still open")
	}
}
