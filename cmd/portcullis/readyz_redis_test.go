package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestReadyzWithRedisHung: Redis stops answering (SIGSTOP: its connections
// stay open). /readyz answers 503 "session store unreachable" within its
// own bound (1 s, docs/operations.md), and 200 again once Redis answers.
func TestReadyzWithRedisHung(t *testing.T) {
	addr, p := testenv.StartRedis(t)
	redisTOML := fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/0\"\n", addr)
	f := newFixtureWith(t, nil, nil, func(c *testConfig) { c.session = redisTOML })
	readyz := func() (int, string, time.Duration) {
		start := time.Now()
		resp, err := http.Get("http://" + f.cfg.ops + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), time.Since(start)
	}
	if code, body, _ := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before the hang: %d %s", code, body)
	}
	pid := p.Cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume := func() { once.Do(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(resume)
	const bound = 3 * time.Second // 1 s, and a shared machine's margin
	code, body, took := readyz()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "session store unreachable") || took > bound {
		t.Errorf("/readyz while Redis hangs: %d %q after %v, want 503 within %v", code, body, took, bound)
	}
	resume()
	if code, body, took := readyz(); code != http.StatusOK || took > bound {
		t.Errorf("/readyz after Redis answers again: %d %q after %v", code, body, took)
	}
}
