package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// TestH2CRequestsHeldToTheListenersRules: a request over h2c (prior
// knowledge, net/http's own HTTP/2 client) is held to what an
// HTTP/1.1 request on the same listener is: the header bound (431 past
// 32 KiB), an untrusted peer's X-Forwarded-For and
// X-Forwarded-Proto dropped, and the scheme forwarded "http" (no TLS
// reached the gateway).
func TestH2CRequestsHeldToTheListenersRules(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	app := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
	}
	f := newFixtureWith(t, nil, app, func(c *testConfig) {
		c.route = "[[routes]]\npath = \"/open/**\"\nupstream = \"app\"\npublic = true\n"
	})
	cc := h2cConn(t, dialGateway(t, f))
	do := func(hdr map[string]string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://x/open/a", nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatalf("h2c request: %v", err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("the request went as %s, want HTTP/2", resp.Proto)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(map[string]string{"X-Big": strings.Repeat("a", 40<<10)}); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("40 KiB of headers over h2c: %d, want 431", code)
	}
	if code := do(map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}); code != http.StatusOK {
		t.Fatalf("a public request over h2c: %d, want 200", code)
	}
	mu.Lock()
	defer mu.Unlock()
	if xff := seen.Get("X-Forwarded-For"); strings.Contains(xff, "203.0.113.9") || xff == "" {
		t.Errorf("X-Forwarded-For from an untrusted h2c peer reached the app as %q; want the peer's address alone", xff)
	}
	if proto := seen.Get("X-Forwarded-Proto"); proto != "http" {
		t.Errorf("X-Forwarded-Proto over h2c reached the app as %q, want http", proto)
	}
}
