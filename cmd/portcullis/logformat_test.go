package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestAccessLogDuration: the access line of `serve` gives duration_ms, a
// number of milliseconds, in both log formats (docs/operations.md).
func TestAccessLogDuration(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	upSrv := &http.Server{Handler: up}
	upAddr := testenv.Addr(testenv.FreePort(t))
	ln, err := net.Listen("tcp", upAddr)
	if err != nil {
		t.Fatal(err)
	}
	go upSrv.Serve(ln)
	t.Cleanup(func() { upSrv.Close() })

	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			c := testConfig{listen: testenv.Addr(testenv.FreePort(t)), ops: testenv.Addr(testenv.FreePort(t)),
				issuer: p.Issuer, upstream: "http://" + upAddr, secrets: []string{secretA},
				route: "[[routes]]\npath = \"/x\"\npublic = true\n"}
			c.public = c.listen
			path := filepath.Join(t.TempDir(), "portcullis.toml")
			doc := strings.Replace(c.String(), "[[upstreams]]", "[log]\nformat = \""+format+"\"\n\n[[upstreams]]", 1)
			if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			logs := &syncBuffer{}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- run(ctx, []string{"serve", "--config", path}, noEnv, logs, logs) }()
			defer func() { cancel(); <-done }()
			var resp *http.Response
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if resp, err = http.Get("http://" + c.listen + "/x"); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("GET: %v %v; logs:\n%s", resp, err, logs)
			}
			resp.Body.Close()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("serve: %v", err)
			}
			done <- nil
			line := ""
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, `"msg":"request"`) || strings.Contains(l, "msg=request ") {
					line = l
				}
			}
			if format == "json" {
				var entry map[string]any
				if err := json.Unmarshal([]byte(line), &entry); err != nil {
					t.Fatalf("no JSON access line (%v):\n%s", err, logs)
				}
				if ms, ok := entry["duration_ms"].(float64); !ok || ms < 0 || ms > 10000 {
					t.Errorf("duration_ms = %#v, want a number of milliseconds: %s", entry["duration_ms"], line)
				}
				if _, ok := entry["duration"]; ok {
					t.Errorf("access line still has duration: %s", line)
				}
				return
			}
			if !regexp.MustCompile(` duration_ms=\d+(\.\d+)?(e-\d+)? `).MatchString(line) || strings.Contains(line, " duration=") {
				t.Errorf("text access line has no numeric duration_ms=: %q\nlogs:\n%s", line, logs)
			}
		})
	}
}

func noEnv(string) (string, bool) { return "", false }
