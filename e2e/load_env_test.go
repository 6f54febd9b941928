package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/session"
)

// loadEnv is the set of processes one load run uses.
type loadEnv struct {
	wrk      string
	binary   string // the gateway, built as the release is
	provider *oidctest.Provider
	cookieGW *gateway // cookie store, default configuration
	redisGW  *gateway // the same with store = "redis"
	bare     *testenv.Process
	bareURL  string
	bearer   string
	sessions int
	dir      string
	cookies  map[*gateway]string
	configs  map[*gateway]string // each gateway's configuration file
}

// loadRoutes are what a typical deployment has: a public prefix, an admin
// area by group, and everything else for any signed-in user.
const loadRoutes = `
[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/admin/**"
allow_groups = ["admins"]

[[routes]]
path = "/app/**"
`

func startLoadEnv(tb testing.TB, o loadOptions) *loadEnv {
	tb.Helper()
	env := &loadEnv{wrk: testenv.LookPath(tb, "wrk"), sessions: o.sessions, dir: tb.TempDir(),
		cookies: map[*gateway]string{}, configs: map[*gateway]string{}}
	env.provider = loadProvider(tb)
	env.bearer = env.provider.AccessToken("svc-reports", realisticClaims)
	bins := buildTools(tb, "internal/loadupstream", "internal/bareproxy", "cmd/portcullis")
	_, upstreamURL := startTool(tb, bins[0])
	env.bare, env.bareURL = startTool(tb, bins[1], upstreamURL)
	env.binary = bins[2]
	env.cookieGW = env.startGateway(tb, upstreamURL, "")
	rs := startRedis(tb, false)
	env.redisGW = env.startGateway(tb, upstreamURL, redisSession(rs.URL()))
	return env
}

// startGateway runs `portcullis serve` with the default configuration
// (nothing about logging or headers set) writing its log to a file, as a
// container runtime would collect it.
func (env *loadEnv) startGateway(tb testing.TB, upstreamURL, sessionKeys string) *gateway {
	tb.Helper()
	a := pickAddrs(tb)
	cfg := tomlConfig{Provider: oidcProvider(env.provider.Issuer, env.provider.ClientID, env.provider.ClientSecret),
		Session: sessionKeys, Upstream: upstreamURL, Routes: loadRoutes, Server: os.Getenv("PORTCULLIS_LOAD_SERVER"),
		Extra: os.Getenv("PORTCULLIS_LOAD_EXTRA")}.String()
	cfg = strings.NewReplacer("{{LISTEN}}", a.Listen, "{{OPS}}", a.Ops).Replace(cfg)
	path := filepath.Join(env.dir, "gw-"+strings.ReplaceAll(a.Listen, ":", "-")+".toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	logFile, err := os.Create(path + ".log")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { logFile.Close() })
	cmd := exec.Command(env.binary, "serve", "--config", path)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p := testenv.Start(tb, cmd)
	g := &gateway{URL: "http://" + a.Listen, OpsURL: "http://" + a.Ops, Proc: p}
	testenv.WaitTCP(tb, a.Listen, 10*time.Second, p)
	g.waitReady(tb)
	env.configs[g] = path
	return g
}

// cookieHeader logs in once through the real flow and returns the Cookie
// header a browser would then send (the session plus an unrelated cookie).
func (env *loadEnv) cookieHeader(tb testing.TB, gw *gateway) string {
	tb.Helper()
	if h, ok := env.cookies[gw]; ok {
		return h
	}
	c := browser(tb)
	if status, body, _ := get(tb, c, gw.URL+"/app/dashboard"); status != 200 {
		tb.Fatalf("login: %d %s", status, body)
	}
	parts := []string{"theme=dark"}
	for _, ck := range c.Jar.Cookies(mustURL(tb, gw.URL)) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	env.cookies[gw] = strings.Join(parts, "; ")
	return env.cookies[gw]
}

// sessionMixScript seals env.sessions distinct sessions (distinct users,
// realistic tokens) with the gateway's secret, writes their cookies to a
// file and returns a wrk Lua script that sends a random one per request.
func (env *loadEnv) sessionMixScript(tb testing.TB) string {
	tb.Helper()
	// The cookie gateway's own configuration seals them, as it would.
	cfg, err := config.Load(env.configs[env.cookieGW], func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	store, err := session.NewCookieStore(cfg.Cookie)
	if err != nil {
		tb.Fatal(err)
	}
	var lines strings.Builder
	now := time.Now()
	for i := 0; i < env.sessions; i++ {
		sub := "user-" + strconv.Itoa(i)
		at := env.provider.AccessToken(sub, map[string]any{"scope": "openid email profile"})
		s := &session.Session{
			Identity: portcullis.Identity{Subject: sub, Issuer: env.provider.Issuer, Email: sub + "@example.com",
				EmailVerified: true, PreferredUsername: sub, Groups: []string{"staff", "team-" + strconv.Itoa(i%50)},
				Scopes: []string{"openid", "email", "profile"}, SessionID: "sid-" + sub,
				Claims: map[string]any{"sub": sub, "email": sub + "@example.com", "name": "User " + strconv.Itoa(i)}},
			AccessToken: at, RefreshToken: "rt-" + sub, IDToken: env.provider.IDToken(sub, "n", at),
			Expiry: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour),
		}
		rec := httptest.NewRecorder()
		if err := store.Save(rec, nil, s); err != nil {
			tb.Fatal(err)
		}
		parts := []string{"theme=dark"}
		for _, ck := range (&http.Response{Header: rec.Header()}).Cookies() {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
		lines.WriteString(strings.Join(parts, "; ") + "\n")
	}
	cookies := filepath.Join(env.dir, "cookies.txt")
	if err := os.WriteFile(cookies, []byte(lines.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	script := filepath.Join(env.dir, "mix.lua")
	lua := fmt.Sprintf(`local cookies = {}
for line in io.lines(%q) do cookies[#cookies + 1] = line end
request = function()
  return wrk.format(nil, nil, {["Cookie"] = cookies[math.random(#cookies)]})
end
`, cookies)
	if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
		tb.Fatal(err)
	}
	return script
}

// wrkResult is what wrk measured, plus the proxy's CPU time, summed over
// rounds by add and averaged by mean.
type wrkResult struct {
	rps       float64
	p99       time.Duration
	cpuPerReq float64 // µs of the proxy process's CPU per request
	allocs    float64 // the proxy process's heap allocations per request
	requests  int
	n         int
}

func (w *wrkResult) add(r wrkResult) {
	w.rps += r.rps
	w.p99 += r.p99
	w.cpuPerReq += r.cpuPerReq
	w.allocs += r.allocs
	w.requests += r.requests
	w.n++
}

func (w wrkResult) mean() wrkResult {
	if w.n == 0 {
		return w
	}
	n := float64(w.n)
	return wrkResult{rps: w.rps / n, p99: time.Duration(float64(w.p99) / n), cpuPerReq: w.cpuPerReq / n, allocs: w.allocs / n, requests: w.requests, n: 1}
}

var (
	wrkRPS     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkTotal   = regexp.MustCompile(`([0-9]+) requests in`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: ([0-9]+)`)
	wrkErrors  = regexp.MustCompile(`Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	wrkLatency = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)\b`)
)

// runWrk loads url with wrk -t2 and measures the CPU time process pid spent
// per request (user+system, from /proc). Error answers or socket errors
// fail the test: a benchmark of failures measures nothing.
func runWrk(tb testing.TB, wrk, url string, extra []string, conns int, d time.Duration, pid int) wrkResult {
	tb.Helper()
	args := append([]string{"-t2", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}, extra...)
	before := procCPU(tb, pid)
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		tb.Fatalf("wrk: %v\n%s", err, out)
	}
	cpu := procCPU(tb, pid) - before
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		tb.Fatalf("wrk %s saw %s error answers:\n%s", url, m[1], out)
	}
	if m := wrkErrors.FindSubmatch(out); m != nil && (string(m[2]) != "0" || string(m[3]) != "0") {
		tb.Fatalf("wrk %s saw socket errors:\n%s", url, out)
	}
	rps, _ := strconv.ParseFloat(string(wrkRPS.FindSubmatch(out)[1]), 64)
	total, _ := strconv.Atoi(string(wrkTotal.FindSubmatch(out)[1]))
	r := wrkResult{rps: rps, requests: total, n: 1, cpuPerReq: cpu.Seconds() * 1e6 / float64(max(total, 1))}
	if m := wrkLatency.FindSubmatch(out); m != nil {
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[2])]
		r.p99 = time.Duration(v * float64(unit))
	}
	return r
}

// procCPU is the user+system CPU time of a process, from /proc/PID/stat.
func procCPU(tb testing.TB, pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		tb.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// rssMB is a process's resident set size (VmRSS) in MB.
func rssMB(tb testing.TB, pid int) float64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

var bareMallocs = regexp.MustCompile(`mallocs ([0-9]+)\n`)

// gatewayMallocs reads the gateway's heap allocations so far from its
// /metrics (the Go collector's go_memstats_mallocs_total).
func gatewayMallocs(tb testing.TB, gw *gateway) float64 {
	tb.Helper()
	return metricValue(tb, gw, "go_memstats_mallocs_total")
}

// processMallocs asks the bare proxy for its allocations so far (SIGUSR1)
// and waits for its answer.
func processMallocs(tb testing.TB, p *testenv.Process) float64 {
	tb.Helper()
	seen := len(bareMallocs.FindAllStringSubmatch(p.Output(), -1))
	if err := p.Cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		tb.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if all := bareMallocs.FindAllStringSubmatch(p.Output(), -1); len(all) > seen {
			v, _ := strconv.ParseFloat(all[len(all)-1][1], 64)
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
	tb.Fatal("the bare proxy did not report its allocations")
	return 0
}
