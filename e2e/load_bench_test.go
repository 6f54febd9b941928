package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// BenchmarkLoad is the load benchmark behind the README's performance
// table. The gateway runs with its default configuration (info-level
// access log to a file, identity headers and the signed assertion on), the
// upstream and a bare, tuned httputil.ReverseProxy each run in their own
// process, and wrk (-t2) loads the gateway and the bare proxy with the same
// request, one after the other, at 64 and 256 connections, for every kind
// of request in loadKinds. It prints one Markdown table row per kind and
// concurrency with the throughput ratio, p99 latencies, CPU per request and
// the gateway's memory. Run it on an otherwise idle machine:
//
//	go test -run '^$' -bench Load -benchtime 1x -timeout 30m ./e2e/
//
// PORTCULLIS_LOAD_DURATION (default 10s), PORTCULLIS_LOAD_ROUNDS (default
// 2), PORTCULLIS_LOAD_CONNS (default "64,256") and PORTCULLIS_LOAD_SESSIONS
// (default 10000, the many-sessions mix) change the run;
// PORTCULLIS_LOAD_SERVER adds [server] keys to the gateways' configuration
// (e.g. "pprof = true" to profile them while they are loaded),
// PORTCULLIS_LOAD_EXTRA adds tables (e.g. "[log]\nlevel = \"warn\"" to
// see what the access log costs), and
// PORTCULLIS_LOAD_ONLY=Redis runs only the kinds whose name contains it.
func BenchmarkLoad(b *testing.B) {
	o := loadOptionsFromEnv(b)
	for i := 0; i < b.N; i++ {
		rows := runLoad(b, o)
		fmt.Println(loadTable(o, rows))
	}
}

// TestLoadSmoke runs the load benchmark's whole set-up with a short,
// single round so that the benchmark cannot rot unnoticed: every request
// kind is answered by both proxies without errors.
func TestLoadSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("load smoke test skipped in -short mode")
	}
	// No warm-up run: the measured one sends the same requests, checked
	// alike (every answer a 2xx, no socket errors).
	o := loadOptions{duration: time.Second, rounds: 1, conns: []int{16}, sessions: 300}
	rows := runLoad(t, o)
	if len(rows) != len(loadKinds) {
		t.Fatalf("got %d rows, want %d", len(rows), len(loadKinds))
	}
	for _, r := range rows {
		if r.gw.requests == 0 || r.bare.requests == 0 {
			t.Errorf("%s: no requests completed (gateway %d, bare %d)", r.kind, r.gw.requests, r.bare.requests)
		}
	}
	t.Log("\n" + loadTable(o, rows))
}

type loadOptions struct {
	duration time.Duration
	warmup   time.Duration
	rounds   int
	conns    []int
	sessions int
	only     string // run only the kinds whose name contains this
}

func loadOptionsFromEnv(tb testing.TB) loadOptions {
	o := loadOptions{duration: 10 * time.Second, warmup: 5 * time.Second, rounds: 2, conns: []int{64, 256}, sessions: 10000}
	if v := os.Getenv("PORTCULLIS_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			tb.Fatalf("PORTCULLIS_LOAD_DURATION: %v", err)
		}
		o.duration = d
	}
	if v := os.Getenv("PORTCULLIS_LOAD_ROUNDS"); v != "" {
		o.rounds = mustAtoi(tb, v)
	}
	if v := os.Getenv("PORTCULLIS_LOAD_SESSIONS"); v != "" {
		o.sessions = mustAtoi(tb, v)
	}
	o.only = os.Getenv("PORTCULLIS_LOAD_ONLY")
	if v := os.Getenv("PORTCULLIS_LOAD_CONNS"); v != "" {
		o.conns = nil
		for _, c := range strings.Split(v, ",") {
			o.conns = append(o.conns, mustAtoi(tb, strings.TrimSpace(c)))
		}
	}
	return o
}

func mustAtoi(tb testing.TB, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("not a positive number: %q", s)
	}
	return n
}

// loadKind is one kind of request of the load benchmark.
type loadKind struct {
	name  string
	redis bool // sent to the gateway that keeps sessions in Redis
	// request returns wrk's extra arguments (a header, or a Lua script).
	request func(tb testing.TB, env *loadEnv, gw *gateway) []string
}

var loadKinds = []loadKind{
	{name: "authenticated cookie session", request: func(tb testing.TB, env *loadEnv, gw *gateway) []string {
		return []string{"-H", "Cookie: " + env.cookieHeader(tb, gw)}
	}},
	{name: "many sessions (cookie mix)", request: func(tb testing.TB, env *loadEnv, gw *gateway) []string {
		return []string{"-s", env.sessionMixScript(tb)}
	}},
	{name: "bearer JWT (RS256, cached)", request: func(tb testing.TB, env *loadEnv, gw *gateway) []string {
		return []string{"-H", "Authorization: Bearer " + env.bearer}
	}},
	{name: "unauthenticated (302 to login)", request: func(tb testing.TB, env *loadEnv, gw *gateway) []string {
		return []string{"-H", "Accept: text/html"}
	}},
	{name: "Redis session store", redis: true, request: func(tb testing.TB, env *loadEnv, gw *gateway) []string {
		return []string{"-H", "Cookie: " + env.cookieHeader(tb, gw)}
	}},
}

// loadRow is the outcome of one kind at one concurrency, summed over rounds.
type loadRow struct {
	kind     string
	conns    int
	gw, bare wrkResult
	rssMB    float64 // the gateway's resident memory after the run
}

// runLoad starts the parties once and runs every kind at every concurrency,
// interleaving gateway and bare proxy within each round.
func runLoad(tb testing.TB, o loadOptions) []loadRow {
	env := startLoadEnv(tb, o)
	var rows []loadRow
	for _, k := range loadKinds {
		if o.only != "" && !strings.Contains(k.name, o.only) {
			continue
		}
		gw := env.cookieGW
		if k.redis {
			gw = env.redisGW
		}
		args := k.request(tb, env, gw)
		// A warm-up run, not measured: every session of the mix is opened
		// once (a cold open costs a decryption, see the session
		// benchmarks), connections are pooled and caches filled, as in a
		// gateway that has been running for a while (TestLoadSmoke runs
		// none).
		if o.warmup > 0 {
			runWrk(tb, env.wrk, gw.URL+"/app/dashboard?tab=1", args, o.conns[0], o.warmup, gw.Proc.Cmd.Process.Pid)
		}
		for _, c := range o.conns {
			row := loadRow{kind: k.name, conns: c}
			for round := 0; round < o.rounds; round++ {
				before := gatewayMallocs(tb, gw)
				g := runWrk(tb, env.wrk, gw.URL+"/app/dashboard?tab=1", args, c, o.duration, gw.Proc.Cmd.Process.Pid)
				g.allocs = (gatewayMallocs(tb, gw) - before) / float64(max(g.requests, 1))
				row.gw.add(g)
				before = processMallocs(tb, env.bare)
				b := runWrk(tb, env.wrk, env.bareURL+"/app/dashboard?tab=1", args, c, o.duration, env.bare.Cmd.Process.Pid)
				b.allocs = (processMallocs(tb, env.bare) - before) / float64(max(b.requests, 1))
				row.bare.add(b)
			}
			row.rssMB = rssMB(tb, gw.Proc.Cmd.Process.Pid)
			rows = append(rows, row)
		}
	}
	return rows
}

// loadTable renders the rows as the README's Markdown table.
func loadTable(o loadOptions, rows []loadRow) string {
	var s strings.Builder
	fmt.Fprintf(&s, "wrk -t2, %s per run, %d round(s), gateway and bare proxy interleaved\n\n", o.duration, o.rounds)
	s.WriteString("| request | conns | gateway req/s | bare req/s | ratio | p99 gateway | p99 bare | p99 ratio | CPU µs/req gateway / bare | allocs/req gateway / bare | gateway RSS |\n")
	s.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		g, b := r.gw.mean(), r.bare.mean()
		fmt.Fprintf(&s, "| %s | %d | %.0f | %.0f | **%.2f×** | %s | %s | %.2f× | %.0f / %.0f | %.0f / %.0f | %.0f MB |\n",
			r.kind, r.conns, g.rps, b.rps, g.rps/b.rps, fmtLatency(g.p99), fmtLatency(b.p99),
			float64(g.p99)/float64(b.p99), g.cpuPerReq, b.cpuPerReq, g.allocs, b.allocs, r.rssMB)
	}
	return s.String()
}

func fmtLatency(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}

// buildTools builds commands for the benchmark (the gateway,
// internal/bareproxy, internal/loadupstream) as scripts/build.sh builds the
// release: static, trimmed, without symbol tables. They build at once (each
// link mostly waits on one core); the paths are in pkgs' order.
func buildTools(tb testing.TB, pkgs ...string) []string {
	tb.Helper()
	outs, errs := make([]string, len(pkgs)), make([]error, len(pkgs))
	var wg sync.WaitGroup
	for i, pkg := range pkgs {
		out := filepath.Join(tb.TempDir(), filepath.Base(pkg))
		wg.Go(func() {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "../"+pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if o, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("build %s: %v\n%s", pkg, err, o)
			}
			outs[i] = out
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		tb.Fatal(err)
	}
	return outs
}

// startTool runs a helper command listening on a fresh loopback address.
func startTool(tb testing.TB, bin string, args ...string) (*testenv.Process, string) {
	tb.Helper()
	addr := testenv.Addr(testenv.FreePort(tb))
	p := testenv.Start(tb, exec.Command(bin, append([]string{addr}, args...)...))
	testenv.WaitTCP(tb, addr, 10*time.Second, p)
	return p, "http://" + addr
}

// realisticClaims are what a bearer token from a company provider carries.
var realisticClaims = map[string]any{
	"scope": "openid email profile api:read api:write", "email": "svc-reports@example.com",
	"email_verified": true, "name": "Reports service", "preferred_username": "svc-reports",
	"groups": []string{"reporting", "platform", "readers"}, "tenant_id": "acme",
	"azp": "reports-client", "jti": "3f1c0e8e-5a4b-4c1d-9f21-7d1b2e6a9c44",
}

// loadProvider is the benchmark's OpenID provider (JWT access tokens).
func loadProvider(tb testing.TB) *oidctest.Provider {
	return oidctest.New(tb, oidctest.Options{JWTAccessTokens: true})
}
