package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// reviewRedis starts a throw-away redis-server and returns its address.
func reviewRedis(t *testing.T) string {
	t.Helper()
	bin := testenv.LookPath(t, "redis-server")
	port := testenv.FreePort(t)
	p := testenv.Start(t, exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"))
	testenv.WaitTCP(t, testenv.Addr(port), 10*time.Second, p)
	return testenv.Addr(port)
}

// activeSessions scrapes portcullis_active_sessions from the ops listener.
func activeSessions(t *testing.T, f *fixture) string {
	t.Helper()
	resp, err := http.Get("http://" + f.cfg.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^portcullis_active_sessions (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no portcullis_active_sessions in /metrics:\n%s", b)
	}
	return string(m[1])
}

// TestActiveSessionsAfterRedisChange: a reload that points the
// gateway at another Redis (a new server, database or password) builds a
// new store and closes the old connection after the drain time. The
// portcullis_active_sessions gauge must then count the new Redis; it stays
// bound to the first store ever built (registerActive ignores the
// AlreadyRegisteredError), which SCANs a closed client: the gauge is frozen
// and every scrape logs a warning.
func TestActiveSessionsAfterRedisChange(t *testing.T) {
	addr := reviewRedis(t)
	f := newFixtureWith(t, nil, nil, func(c *testConfig) {
		c.session = fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/0\"\n", addr)
	})
	c := f.cfg
	c.session = fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/1\"\n", addr)
	f.write(c.String())
	if !f.g.reload(context.Background()) {
		t.Fatalf("reload failed; logs:\n%s", f.logs)
	}
	// The old connection is closed shutdown_timeout (1s) + 1s after the swap.
	time.Sleep(2500 * time.Millisecond)
	f.login() // one session, in database 1
	if got := activeSessions(t, f); got != "1" {
		t.Errorf("portcullis_active_sessions = %s after a login on the reloaded Redis, want 1", got)
	}
	if strings.Contains(f.logs.String(), "counting active sessions failed") {
		t.Errorf("the gauge still counts through the closed connection of the first store:\n%s",
			grepLines(f.logs.String(), "counting active sessions"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestIdentityWithoutRequestPrintsUsage: docs/operations.md says
// "Unknown flags, stray positional arguments and `check --identity` without
// `--request` are usage errors: the error, then the usage, on standard
// error, and exit code 2". The first two print the usage; the third prints
// only the error.
func TestIdentityWithoutRequestPrintsUsage(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	r := invoke(t, nil, "check", "--config", path, "--identity", "sub=a")
	if r.code != 2 || !strings.Contains(r.stderr, "--identity describes the identity of a --request") ||
		!strings.Contains(r.stderr, "usage: portcullis check") {
		t.Errorf("exit %d, stderr %q; want 2, the error, then the usage", r.code, r.stderr)
	}
}

// TestRedisURLProblemNamesItsLine: check prints a redis_url that
// go-redis refuses as "FILE: session: redis_url: ..." (from building the
// store), without the line every problem is documented to carry.
func TestRedisURLProblemNamesItsLine(t *testing.T) {
	doc := strings.Replace(checkGood, "[session]\n", "[session]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/abc\"\n", 1)
	path := writeConfig(t, "redis.toml", doc)
	r := invoke(t, nil, "check", "--config", path)
	if r.code != 2 || !regexp.MustCompile(regexp.QuoteMeta(path)+`:\d+: session\.redis_url: `).MatchString(r.stderr) {
		t.Errorf("exit %d, stderr %q; want 2 and FILE:LINE: session.redis_url: ...", r.code, r.stderr)
	}
}
