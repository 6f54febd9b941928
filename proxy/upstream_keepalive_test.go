package proxy

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestUpstreamClosingAKeptAliveConnection pins what docs/operations.md
// tells an operator about an upstream whose idle timeout is shorter than
// the gateway's (Node.js's 5 s): a request sent on a kept-alive connection
// that the upstream closes without answering is sent again by Go's
// transport when it is a GET, and is a 502 naming EOF when it is a POST,
// which the upstream may have read and acted on.
func TestUpstreamClosingAKeptAliveConnection(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{} // the connections (client addresses) that were answered
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		again := seen[r.RemoteAddr]
		seen[r.RemoteAddr] = true
		mu.Unlock()
		if !again {
			_, _ = io.WriteString(w, "upstream ok")
			return
		}
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close() // a kept-alive connection's next request: closed unanswered
		}
	})
	var logs syncBuffer
	withDebugLog(&logs)(&f.cfg)
	h, err := New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	srv := serveGateway(t, f)
	c := srv.Client()

	for _, path := range []string{"/public/a", "/public/b"} {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d, want 200 (sent again on a new connection)", path, resp.StatusCode)
		}
	}
	resp, err := c.Post(srv.URL+"/public/c", "text/plain", strings.NewReader("order=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 502 {
		t.Errorf("POST on a connection the upstream closed: %d, want 502", resp.StatusCode)
	}
	var paths []string
	f.up.mu.Lock()
	for _, r := range f.up.reqs {
		paths = append(paths, r.Method+" "+r.Path)
	}
	f.up.mu.Unlock()
	if want := "GET /public/a, GET /public/b, GET /public/b, POST /public/c"; strings.Join(paths, ", ") != want {
		t.Errorf("the upstream read %q, want %s", paths, want)
	}
	if line := logLines(logs.String(), "proxy: request refused"); len(line) != 1 ||
		!strings.Contains(line[0], "code=bad_gateway") || !strings.Contains(line[0], "EOF") {
		t.Errorf("refusal lines %q, want one bad_gateway naming EOF", line)
	}
}
