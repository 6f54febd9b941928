package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// BenchmarkWrkCookieVsBare puts wrk against the gateway (an authenticated
// cookie request) and against a bare tuned httputil.ReverseProxy to the same
// upstream, one after the other, with the same request (session cookie
// included), and reports requests per second and the CPU time each proxy
// process spent per request. Run it with
//
//	go test -run '^$' -bench Wrk -benchtime 1x ./e2e/
func BenchmarkWrkCookieVsBare(b *testing.B) {
	p := oidctest.New(b, oidctest.Options{})
	gw, upstreamURL := startLoadGateway(b, p)
	c := browser(b)
	if status, body, _ := get(b, c, gw.URL+"/hello"); status != 200 {
		b.Fatalf("login: %d %s", status, body)
	}
	var cookie []string
	for _, ck := range c.Jar.Cookies(mustURL(b, gw.URL)) {
		cookie = append(cookie, ck.Name+"="+ck.Value)
	}
	compareWithBare(b, gw, upstreamURL, "Cookie: "+strings.Join(cookie, "; "))
}

// BenchmarkWrkBearerVsBare is the same with a JWT bearer token (verified
// once, then served from the token cache).
func BenchmarkWrkBearerVsBare(b *testing.B) {
	p := oidctest.New(b, oidctest.Options{JWTAccessTokens: true})
	gw, upstreamURL := startLoadGateway(b, p)
	tok := p.AccessToken("alice", map[string]any{"scope": "openid"})
	compareWithBare(b, gw, upstreamURL, "Authorization: Bearer "+tok)
}

// startLoadGateway runs a gateway (logging at warn, as a busy deployment
// would) in front of a minimal upstream.
func startLoadGateway(b *testing.B, p *oidctest.Provider) (*gateway, string) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	}))
	b.Cleanup(upstream.Close)
	a := pickAddrs(b)
	cfg := strings.Replace(forwardAuthConfig(p, "http://"+a.Listen, upstream.URL, "127.0.0.2/32"),
		"[[upstreams]]", "[log]\nlevel = \"warn\"\n\n[[upstreams]]", 1)
	return startGateway(b, a, cfg), upstream.URL
}

// compareWithBare loads the gateway and a bare proxy with the same request.
func compareWithBare(b *testing.B, gw *gateway, upstreamURL, header string) {
	wrk := testenv.LookPath(b, "wrk")
	bare := buildBareProxy(b)
	bareAddr := testenv.Addr(testenv.FreePort(b))
	bp := testenv.Start(b, exec.Command(bare, bareAddr, upstreamURL))
	testenv.WaitTCP(b, bareAddr, 10*time.Second, bp)
	for i := 0; i < b.N; i++ {
		g := runWrk(b, wrk, gw.URL+"/hello", header, gw.Proc.Cmd.Process.Pid)
		r := runWrk(b, wrk, "http://"+bareAddr+"/hello", header, bp.Cmd.Process.Pid)
		b.ReportMetric(g.rps, "gateway-req/s")
		b.ReportMetric(r.rps, "bare-req/s")
		b.ReportMetric(g.cpuPerReq, "gateway-cpu-µs/req")
		b.ReportMetric(r.cpuPerReq, "bare-cpu-µs/req")
		b.ReportMetric(g.cpuPerReq/r.cpuPerReq, "cpu-ratio")
	}
}

type wrkResult struct{ rps, cpuPerReq float64 }

var wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
var wrkTotal = regexp.MustCompile(`([0-9]+) requests in`)
var wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: ([0-9]+)`)

// runWrk loads url for 5 s with 32 connections and measures the CPU time of
// process pid (user+system, from /proc) per request.
func runWrk(b *testing.B, wrk, url, header string, pid int) wrkResult {
	b.Helper()
	args := []string{"-t1", "-c32", "-d5s"}
	if header != "" {
		args = append(args, "-H", header)
	}
	before := procCPU(b, pid)
	out, err := exec.Command(wrk, append(args, url)...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	cpu := procCPU(b, pid) - before
	b.Logf("wrk %s\n%s", url, out)
	if m := wrkNon2xx.FindSubmatch(out); m != nil {
		b.Fatalf("wrk saw %s non-2xx answers", m[1])
	}
	rps, _ := strconv.ParseFloat(string(wrkRPS.FindSubmatch(out)[1]), 64)
	total, _ := strconv.ParseFloat(string(wrkTotal.FindSubmatch(out)[1]), 64)
	return wrkResult{rps: rps, cpuPerReq: cpu.Seconds() * 1e6 / total}
}

// procCPU is the user+system CPU time of a process, from /proc/PID/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.Atoi(f[11])
	stime, _ := strconv.Atoi(f[12])
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func buildBareProxy(b *testing.B) string {
	out := filepath.Join(b.TempDir(), "bareproxy")
	cmd := exec.Command("go", "build", "-o", out, "../internal/bareproxy")
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build bareproxy: %v\n%s", err, o)
	}
	return out
}
