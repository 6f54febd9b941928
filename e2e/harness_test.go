package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// binary is the portcullis binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "portcullis-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "portcullis")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../cmd/portcullis")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building portcullis:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gateway is a running `portcullis serve` process.
type gateway struct {
	URL    string // http://127.0.0.1:PORT
	OpsURL string
	Proc   *testenv.Process
}

// addrs are the gateway's listen and ops addresses, picked before it starts
// so that providers can register its redirect URI.
type addrs struct{ Listen, Ops string }

func pickAddrs(tb testing.TB) addrs {
	return addrs{testenv.Addr(testenv.FreePort(tb)), testenv.Addr(testenv.FreePort(tb))}
}

// startGateway writes cfg (a TOML text with {{LISTEN}} and {{OPS}}
// placeholders), runs `portcullis serve` on it until the test ends, and
// waits until it is ready.
func startGateway(tb testing.TB, a addrs, cfg string) *gateway {
	tb.Helper()
	g := startGatewayListening(tb, a, cfg)
	g.waitReady(tb)
	return g
}

// startGatewayListening is startGateway without waiting for readiness: it
// returns once the gateway accepts connections.
func startGatewayListening(tb testing.TB, a addrs, cfg string) *gateway {
	tb.Helper()
	return startGatewayEnv(tb, a, cfg, nil)
}

// startGatewayEnv is startGatewayListening with env added to the
// gateway's environment (OTEL_* variables, for one).
func startGatewayEnv(tb testing.TB, a addrs, cfg string, env []string) *gateway {
	tb.Helper()
	listen, ops := a.Listen, a.Ops
	cfg = strings.NewReplacer("{{LISTEN}}", listen, "{{OPS}}", ops).Replace(cfg)
	path := filepath.Join(tb.TempDir(), "portcullis.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", path)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	p := testenv.Start(tb, cmd)
	g := &gateway{URL: "http://" + listen, OpsURL: "http://" + ops, Proc: p}
	testenv.WaitTCP(tb, listen, 10*time.Second, p)
	return g
}

func (g *gateway) waitReady(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := plainClient.Get(g.OpsURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatalf("gateway not ready; output:\n%s", g.Proc.Output())
}

// settledMarks numbers settledOutput's requests across the package.
var settledMarks atomic.Int64

// settledOutput returns gw's output once every line the gateway logged
// before the call is in it, for checks that a line or a value is absent,
// which pass on an output the line has not reached yet (the log is
// flushed every 200 ms and read through a pipe). It sends a request of
// its own and waits for its access line: lines are written in order, and
// a request's own lines are logged before its answer is released.
func settledOutput(tb testing.TB, gw *gateway) string {
	tb.Helper()
	mark := "/portcullis-test-settled/" + strconv.FormatInt(settledMarks.Add(1), 10)
	resp, err := plainClient.Get(gw.URL + mark)
	if err != nil {
		tb.Fatalf("settling the log: %v", err)
	}
	resp.Body.Close()
	gw.waitOutput(tb, mark, 1)
	return gw.Proc.Output()
}

// opsMetrics returns the gateway's /metrics text.
func opsMetrics(tb testing.TB, gw *gateway) string {
	tb.Helper()
	resp, err := plainClient.Get(gw.OpsURL + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// metricValue is the value of the unlabelled series name on gw's /metrics.
func metricValue(tb testing.TB, gw *gateway, name string) float64 {
	tb.Helper()
	for line := range strings.Lines(opsMetrics(tb, gw)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	tb.Fatalf("no %s on /metrics", name)
	return 0
}

// secret is a fixed, high-entropy test session secret (base64 of 32 bytes).
const secret = "/Via1yk4hN8fhwPfb4G1emWUh89OaWAFP4jJ09w2Mb8="

// upstream is a demo app that records every request it receives.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

// seen is what the upstream received.
type seen struct {
	Method  string      `json:"method"`
	Path    string      `json:"path"` // escaped path as received
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Headers http.Header `json:"headers"`
}

// newUpstream is an app that answers every request with what it received,
// as JSON: 200, or 404 under /missing/. Under /answer-headers/ it also
// answers each query parameter as a header field of its name (a hostile
// app's Clear-Site-Data, say).
func newUpstream(tb testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := seen{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Host: r.Host, Headers: r.Header.Clone()}
		u.mu.Lock()
		u.reqs = append(u.reqs, s)
		u.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/answer-headers/") {
			for k, vs := range r.URL.Query() {
				w.Header()[k] = vs
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(r.URL.Path, "/missing/") {
			w.WriteHeader(http.StatusNotFound) // an app's error answer
		}
		json.NewEncoder(w).Encode(s)
	}))
	tb.Cleanup(u.Close)
	return u
}

// count returns how many requests the upstream has received.
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// clientTransport is the transport of the package's HTTP clients: Go's
// default transport's settings in a pool of its own. httptest.Server.Close
// closes http.DefaultTransport's idle connections, and a request that was
// taking one of them as a parallel test closed its server failed ("HTTP/1.x
// transport connection broken: http: CloseIdleConnections called").
var clientTransport = http.DefaultTransport.(*http.Transport).Clone()

// plainClient is http.DefaultClient on clientTransport.
var plainClient = &http.Client{Transport: clientTransport}

// browser is an HTTP client with a cookie jar that follows redirects.
func browser(tb testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: clientTransport}
}

// get performs a browser-navigation GET and returns status and body. Like
// a browser it follows a page's immediate meta refresh (the forward-auth
// sign-in page behind Traefik), a few times at most.
func get(tb testing.TB, c *http.Client, url string) (int, string, *http.Response) {
	tb.Helper()
	for range 3 {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := c.Do(req)
		if err != nil {
			tb.Fatalf("GET %s: %v", url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := metaRefresh.FindSubmatch(b)
		if m == nil {
			return resp.StatusCode, string(b), resp
		}
		next, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			tb.Fatalf("meta refresh on %s: %v", url, err)
		}
		url = next.String()
	}
	tb.Fatalf("GET %s: meta refresh after meta refresh", url)
	return 0, "", nil
}

// apiStatus makes an API call (Accept: application/json) with c and
// returns its status; the body is read and dropped.
func apiStatus(tb testing.TB, c *http.Client, method, url string, body io.Reader) int {
	tb.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metaRefresh finds a page's immediate meta refresh and its URL.
var metaRefresh = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]*)">`)

// decodeSeen parses the upstream's echo.
func decodeSeen(tb testing.TB, body string) seen {
	tb.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		tb.Fatalf("upstream echo: %v\n%s", err, body)
	}
	return s
}

func mustURL(tb testing.TB, raw string) *url.URL {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// tomlConfig is a gateway configuration file for the tests. Zero fields
// take the defaults noted; {{LISTEN}} and {{OPS}} are filled in by
// startGateway.
type tomlConfig struct {
	PublicURL string   // default "http://{{LISTEN}}"
	Server    string   // more [server] keys
	Provider  string   // the [provider] keys, e.g. from oidcProvider
	Session   string   // more [session] keys
	Secrets   []string // default: the fixed test secret
	Upstream  string   // URL of the one upstream, "app"
	Extra     string   // more tables ([headers], [log], ...)
	Routes    string   // the [[routes]] entries
}

func (c tomlConfig) String() string {
	if c.PublicURL == "" {
		c.PublicURL = "http://{{LISTEN}}"
	}
	if c.Secrets == nil {
		c.Secrets = []string{secret}
	}
	return `
[server]
listen = "{{LISTEN}}"
ops_listen = "{{OPS}}"
public_url = "` + c.PublicURL + `"
` + c.Server + `
[provider]
` + c.Provider + `
[session]
secrets = ["` + strings.Join(c.Secrets, `", "`) + `"]
` + c.Session + `
[[upstreams]]
name = "app"
url = "` + c.Upstream + `"
` + c.Extra + `
` + c.Routes
}

// oidcProvider are the [provider] keys of an OpenID provider.
func oidcProvider(issuer, clientID, clientSecret string) string {
	return "issuer = \"" + issuer + "\"\nclient_id = \"" + clientID + "\"\nclient_secret = \"" + clientSecret + "\"\n"
}

// demoRoutes are the routes most tests share: /public/** needs no login,
// /admin/** needs the group admins.
const demoRoutes = `
[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/admin/**"
allow_groups = ["admins"]
`
