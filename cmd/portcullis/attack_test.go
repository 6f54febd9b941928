package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOpsListenerLimits: the ops listener is reachable by whoever scrapes
// metrics, and it holds to the same bounds as the gateway listener: a
// request whose headers exceed the gateway's hard stop (64 KiB) is a 431,
// not a megabyte held per connection, and idle or slow connections are
// closed instead of kept forever.
func TestOpsListenerLimits(t *testing.T) {
	f := newFixture(t, nil, nil)
	big := strings.Repeat("a", 1000)
	var b strings.Builder
	b.WriteString("GET /healthz HTTP/1.1\r\nHost: ops\r\n")
	for i := 0; i < 200; i++ { // 200 KB of headers: under net/http's 1 MiB default
		b.WriteString("X-Pad-" + strings.Repeat("p", i%7) + ": " + big + "\r\n")
	}
	b.WriteString("\r\n")
	for _, addr := range []string{f.cfg.ops, f.cfg.listen} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() { _, _ = io.WriteString(c, b.String()) }()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: 200 KB of headers: status %d, want 431", addr, resp.StatusCode)
		}
	}
	for name, s := range map[string]*http.Server{"gateway": f.srv.gw, "ops": f.srv.ops} {
		if s.ReadHeaderTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 64<<10 {
			t.Errorf("%s server: ReadHeaderTimeout %v IdleTimeout %v MaxHeaderBytes %d", name,
				s.ReadHeaderTimeout, s.IdleTimeout, s.MaxHeaderBytes)
		}
	}
	if f.srv.ops.ReadTimeout <= 0 {
		t.Errorf("ops server: no ReadTimeout (its requests have no bodies to stream)")
	}
}

// TestCheckRequestEncodedSlashBehindBraces: `check --request` decides as the
// gateway does: an encoded slash is a 400 even where url.URL.EscapedPath
// would have re-encoded the path and decoded it into a real "/".
func TestCheckRequestEncodedSlashBehindBraces(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	for _, target := range []string{
		"https://dash.example.com/admin/x%2F..%2F..%2Fpublic%2Fy{",
		"https://dash.example.com/public/x%2Fy|",
	} {
		r := invoke(t, nil, "check", "--config", path, "--request", "GET "+target)
		if r.code != 3 || !strings.Contains(r.stdout, "decision: refused (400)") {
			t.Errorf("%s: exit %d\nstdout:\n%s", target, r.code, r.stdout)
		}
	}
}
