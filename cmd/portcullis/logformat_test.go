package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
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
			logs, stop := serveLogging(t, c, format)
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
			if err := stop(); err != nil {
				t.Fatalf("serve: %v", err)
			}
			line := ""
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, `"msg":"request"`) || strings.Contains(l, "msg=request ") {
					line = l
				}
			}
			// Every field, in the documented order, at the top level.
			fields := map[string]string{
				"json": `"msg":"request","method":"GET","host":"[^"]+","path":"/x","route":"0","outcome":"public","status":200,"duration_ms":[0-9.e-]+,"user":"","remote_addr":"127.0.0.1"}$`,
				"text": ` msg=request method=GET host=\S+ path=/x route=0 outcome=public status=200 duration_ms=[0-9.e-]+ user="" remote_addr=127.0.0.1$`,
			}
			if !regexp.MustCompile(fields[format]).MatchString(line) {
				t.Errorf("access line %q does not match %s", line, fields[format])
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

// serveLogging runs serve with c and [log] format = format, its standard
// output and error written to the buffer it returns. stop ends serve and
// returns what serve returned; the test's end stops it too.
func serveLogging(t *testing.T, c testConfig, format string) (logs *syncBuffer, stop func() error) {
	t.Helper()
	doc := strings.Replace(c.String(), "[[upstreams]]", "[log]\nformat = \""+format+"\"\n\n[[upstreams]]", 1)
	path := writeConfig(t, "portcullis.toml", doc)
	logs = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", path}, noEnv, logs, logs) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return logs, stop
}

// TestLibraryLogsFollowLogFormat: go-redis and Go's standard logger write
// their complaints to the process's standard error themselves, as bare
// "redis: 2006/01/02 15:04:05 pool.go:770: ..." lines: outside [log]
// format (lines a JSON log pipeline cannot read), outside [log] level and
// the buffered writer. With Redis down, every request that reads a session
// and every readiness probe wrote one. serve hands both to its logger.
func TestLibraryLogsFollowLogFormat(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	c := testConfig{listen: testenv.Addr(testenv.FreePort(t)), ops: testenv.Addr(testenv.FreePort(t)),
		issuer: p.Issuer, upstream: "http://127.0.0.1:1", secrets: []string{secretA},
		session: fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/0\"\n", testenv.Addr(testenv.FreePort(t)))}
	c.public = c.listen
	logs, stop := serveLogging(t, c, "json")
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var resp *http.Response
		if resp, err = http.Get("http://" + c.ops + "/readyz"); err == nil {
			resp.Body.Close()
			if strings.Contains(logs.String(), "failed to dial") {
				break
			}
		}
	}
	log.Print("a library's complaint")
	stop()
	var redisLine, stdLine bool
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("a log line is not JSON: %q", l)
			continue
		}
		msg, _ := entry["msg"].(string)
		redisLine = redisLine || (strings.Contains(msg, "failed to dial") && entry["level"] == "WARN")
		stdLine = stdLine || (strings.Contains(msg, "a library's complaint") && entry["level"] == "WARN")
	}
	if !redisLine {
		t.Errorf("go-redis's complaint about the unreachable Redis is not a JSON warning of serve's log:\n%s", logs)
	}
	if !stdLine {
		t.Errorf("the standard logger's line is not a JSON warning of serve's log:\n%s", logs)
	}
}
