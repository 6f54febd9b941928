package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// reviewRedis starts a throw-away redis-server and returns its address.
func reviewRedis(t *testing.T) string {
	addr, _ := testenv.StartRedis(t)
	return addr
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
	if got := scrape(t, f, "portcullis_active_sessions"); got != "1" {
		t.Errorf("portcullis_active_sessions = %s after a login on the reloaded Redis, want 1", got)
	}
	if strings.Contains(f.logs.String(), "counting active sessions failed") {
		t.Errorf("the gauge still counts through the closed connection of the first store:\n%s",
			testenv.LinesContaining(f.logs.String(), "counting active sessions"))
	}
}

// TestIdentityWithoutRequestPrintsUsage: docs/operations.md says
// "Unknown flags, stray positional arguments and `check --identity` without
// `--request` are usage errors: the error, then the usage, on standard
// error, and exit code 2". The first two print the usage; the third prints
// only the error.
func TestIdentityWithoutRequestPrintsUsage(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	r := invoke(t, nil, "check", "--config", path, "--identity", "sub=a")
	if r.code != 2 || !strings.Contains(r.stderr, "--identity and --header describe a --request") ||
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

// opsMetrics is the ops listener's /metrics page.
func opsMetrics(t *testing.T, f *fixture) []byte {
	t.Helper()
	resp, err := http.Get("http://" + f.cfg.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// scrape returns the value of the unlabelled metric name on the ops
// listener's /metrics.
func scrape(t *testing.T, f *fixture, name string) string {
	t.Helper()
	b := opsMetrics(t, f)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in /metrics:\n%s", name, b)
	}
	return string(m[1])
}

// TestReloadRejectedIsMeasured: a SIGHUP reload of a file that is valid
// TOML but fails validation, or whose secrets file vanished, keeps the
// previous configuration serving and logs each problem as FILE:LINE. Nothing
// but that log line said so: a monitored gateway went on enforcing rules its
// operator believed replaced. portcullis_config_last_reload_successful now
// drops to 0 until a reload is applied, and the success timestamp moves only
// then.
func TestReloadRejectedIsMeasured(t *testing.T) {
	f := newFixture(t, nil, nil)
	alice := f.login()
	dir := filepath.Dir(f.path)
	secretsFile := filepath.Join(dir, "secrets.txt")
	if err := os.WriteFile(secretsFile, []byte(secretA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := strings.Replace(f.cfg.String(), `secrets = ["`+secretA+`"]`, `secrets_file = "secrets.txt"`, 1)
	if scrape(t, f, "portcullis_config_last_reload_successful") != "1" {
		t.Fatal("the configuration loaded at start is not counted as a success")
	}
	f.write(fromFile)
	if !f.g.reload(context.Background()) {
		t.Fatalf("reload with secrets_file refused:\n%s", f.logs)
	}
	applied := scrape(t, f, "portcullis_config_last_reload_success_timestamp_seconds")

	badUpstream := strings.Replace(fromFile, "[[routes]]\npath = \"/**\"\n", "[[routes]]\npath = \"/**\"\nupstream = \"nope\"\n", 1)
	line := strings.Count(badUpstream[:strings.Index(badUpstream, `upstream = "nope"`)], "\n") + 1
	cases := []struct {
		name, doc, log string
		before         func()
	}{
		{"valid TOML that fails validation", badUpstream,
			fmt.Sprintf("%s:%d: routes[0].upstream: no [[upstreams]] entry is named", f.path, line), nil},
		{"the secrets file vanished", fromFile, "session.secrets_file", func() { os.Remove(secretsFile) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			f.write(tc.doc)
			if f.g.reload(context.Background()) {
				t.Fatal("the reload was applied")
			}
			if !strings.Contains(f.logs.String(), "config reload: "+f.path+":") || !strings.Contains(f.logs.String(), tc.log) {
				t.Errorf("logs lack %q with the file and line:\n%s", tc.log, f.logs)
			}
			if got := scrape(t, f, "portcullis_config_last_reload_successful"); got != "0" {
				t.Errorf("config_last_reload_successful = %s after a rejected reload, want 0", got)
			}
			if got := scrape(t, f, "portcullis_config_last_reload_success_timestamp_seconds"); got != applied {
				t.Errorf("success timestamp moved to %s (from %s) on a rejected reload", got, applied)
			}
			if code := f.get(alice, "/admin/x", false); code != 200 {
				t.Errorf("the previous configuration stopped serving: %d", code)
			}
		})
	}
	if err := os.WriteFile(secretsFile, []byte(secretA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.write(fromFile)
	if !f.g.reload(context.Background()) || scrape(t, f, "portcullis_config_last_reload_successful") != "1" {
		t.Errorf("a good reload did not set config_last_reload_successful back to 1:\n%s", f.logs)
	}
}
