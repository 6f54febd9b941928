package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// Two fixed, high-entropy session secrets (base64 of 32 bytes).
const (
	secretA = "/Via1yk4hN8fhwPfb4G1emWUh89OaWAFP4jJ09w2Mb8="
	secretB = "q83vEjRWeJq83vBjVhBq7X7D5y0Jf1o4ZkqR8b2mTnE="
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// testConfig is a gateway in front of upstream with the given secrets and
// an extra route placed before the catch-all.
type testConfig struct {
	listen, ops, issuer, upstream string
	public                        string // host:port of public_url
	secrets                       []string
	route                         string // TOML of routes placed first
	session                       string // TOML appended to [session]
	provider                      string // TOML appended to [provider]
	extra                         string // TOML appended to [server]
}

func (c testConfig) String() string {
	return fmt.Sprintf(`
[server]
listen = %q
ops_listen = %q
public_url = "http://%s"
shutdown_timeout = "1s"
shutdown_delay = "0s"
%s
[provider]
issuer = %q
client_id = "client"
client_secret = "secret"
%s
[session]
secrets = ["%s"]
%s
[[upstreams]]
name = "app"
url = %q
%s
[[routes]]
path = "/**"
`, c.listen, c.ops, c.public, c.extra, c.issuer, c.provider, strings.Join(c.secrets, `", "`), c.session, c.upstream, c.route)
}

// fixture is an in-process gateway (built as serve builds it) in front of a
// test upstream and the oidctest provider.
type fixture struct {
	t      *testing.T
	p      *oidctest.Provider
	up     *httptest.Server
	upSeen chan http.Header
	cfg    testConfig
	path   string
	g      *gateway
	srv    *servers
	logs   *syncBuffer
	stop   context.CancelFunc // ends run as SIGTERM does
	done   chan error         // run's result
}

func newFixture(t *testing.T, env map[string]string, upstream http.HandlerFunc) *fixture {
	t.Helper()
	return newFixtureWith(t, env, upstream, nil)
}

// newFixtureWith is newFixture with the configuration adjusted by edit.
func newFixtureWith(t *testing.T, env map[string]string, upstream http.HandlerFunc, edit func(*testConfig)) *fixture {
	t.Helper()
	f := startFixture(t, env, upstream, edit)
	deadline := time.Now().Add(30 * time.Second) // a loaded machine's discovery: generous, only a failure waits it out
	for !f.g.current().provider.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("provider not discovered; logs:\n%s", f.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f
}

// startFixture is newFixtureWith without waiting for the provider's
// discovery, which may never succeed.
func startFixture(t *testing.T, env map[string]string, upstream http.HandlerFunc, edit func(*testConfig)) *fixture {
	t.Helper()
	f := &fixture{t: t, p: oidctest.New(t, oidctest.Options{}), upSeen: make(chan http.Header, 100), logs: &syncBuffer{}}
	f.up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case f.upSeen <- r.Header.Clone():
		default:
		}
		if upstream != nil {
			upstream(w, r)
			return
		}
		io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(f.up.Close)
	f.cfg = testConfig{listen: testenv.Addr(testenv.FreePort(t)), ops: testenv.Addr(testenv.FreePort(t)),
		issuer: f.p.Issuer, upstream: f.up.URL, secrets: []string{secretA}}
	f.cfg.public = f.cfg.listen
	if edit != nil {
		edit(&f.cfg)
	}
	f.path = filepath.Join(t.TempDir(), "portcullis.toml")
	f.write(f.cfg.String())
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := loadConfig(f.path, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logger := newLogger("text", "debug", f.logs)
	if f.g, err = buildGateway(cfg, logger, getenv); err != nil {
		t.Fatal(err)
	}
	if f.srv, err = f.g.listen(nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.done = make(chan error, 1)
	go func() { f.done <- f.g.run(ctx, f.srv) }()
	t.Cleanup(func() { cancel(); <-f.done; f.g.close() })
	f.stop = cancel
	return f
}

func (f *fixture) write(cfg string) {
	f.t.Helper()
	if err := os.WriteFile(f.path, []byte(cfg), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) url(path string) string { return "http://" + f.cfg.listen + path }

// login runs a browser login (the provider logs alice in at once) and
// returns the client holding the session cookie.
func (f *fixture) login() *http.Client {
	f.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if code := f.get(c, "/app", true); code != 200 {
		f.t.Fatalf("login: %d; logs:\n%s", code, f.logs)
	}
	return c
}

// get requests path as an API client (browser=false: no redirects to log in).
func (f *fixture) get(c *http.Client, path string, browser bool) int {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.url(path), nil)
	if browser {
		req.Header.Set("Accept", "text/html")
	}
	resp, err := c.Do(req)
	if err != nil {
		f.t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestReload(t *testing.T) {
	f := newFixture(t, nil, nil)
	alice := f.login()
	first := f.g.current()

	tests := []reloadCase{
		{name: "a route becomes deny", change: func(c *testConfig) {
			c.route = "[[routes]]\npath = \"/admin/**\"\ndeny = true\n"
		}, wantLive: true, wantStatus: 403, wantLogs: []string{`msg="config reloaded" path=` + f.path},
			check: func(t *testing.T, prev, now *generation) {
				if now.provider != prev.provider || now.store != prev.store || now.states != prev.states {
					t.Error("an unchanged provider or session store was rebuilt")
				}
			}},
		{name: "invalid file keeps the old configuration", raw: "[server]\nlisten = 5\n\n[[routes]]\npaht = \"/x\"\n",
			wantLive: false, wantStatus: 403, wantLogs: []string{
				"level=ERROR msg=\"config reload: " + f.path + ":2: server.listen:",
				"level=ERROR msg=\"config reload: " + f.path + ":5: routes[0].paht:",
				"still running on the previous configuration"}},
		{name: "rotated secrets keep the session", change: func(c *testConfig) {
			c.secrets = []string{secretB, secretA}
		}, wantLive: true, wantStatus: 200, check: func(t *testing.T, prev, now *generation) {
			if now.store == prev.store {
				t.Error("new secrets did not build a new session store")
			}
			if now.provider != prev.provider {
				t.Error("an unchanged provider was rebuilt")
			}
			checkStateReplayRefused(t, prev, now)
		}},
		{name: "an access-token header rebuilds the store, which keeps access tokens", change: func(c *testConfig) {
			c.secrets = []string{secretB, secretA}
			c.route = "[headers]\naccess_token = \"X-Access-Token\"\n"
		}, wantLive: true, wantStatus: 200, check: func(t *testing.T, prev, now *generation) {
			if now.store == prev.store {
				t.Error("the store was kept although it must now keep access tokens")
			}
			s, err := now.store.Load(aliceRequest(t, f, alice))
			if err != nil || s.AccessToken == "" || s.RefreshToken != "" {
				t.Errorf("the store's copy of the session: access token %d bytes, refresh token %d bytes, %v",
					len(s.AccessToken), len(s.RefreshToken), err)
			}
		}},
		{name: "a require_claims rule rebuilds the store, which keeps that claim", change: func(c *testConfig) {
			c.secrets = []string{secretB, secretA}
			c.route = "[[routes]]\npath = \"/admin/**\"\nrequire_claims = { email_verified = \"true\" }\n"
		}, wantLive: true, wantStatus: 200, check: func(t *testing.T, prev, now *generation) {
			if now.store == prev.store {
				t.Error("the store was kept although it must now keep the email_verified claim")
			}
			s, err := now.store.Load(aliceRequest(t, f, alice))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := s.Identity.Claims["email_verified"]; !ok || len(s.Identity.Claims) != 1 {
				t.Errorf("the store's copy of the session has claims %v, want only email_verified", s.Identity.Claims)
			}
		}},
		{name: "listen change needs a restart", change: func(c *testConfig) {
			c.secrets = []string{secretB, secretA}
			c.listen = "127.0.0.1:1"
		}, wantLive: true, wantStatus: 200, wantLogs: []string{"server.listen changed but needs a restart"}},
		{name: "old secret dropped ends the session", change: func(c *testConfig) {
			c.secrets = []string{secretB}
		}, wantLive: true, wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, f, alice) })
	}
	if f.g.current().provider != first.provider {
		t.Error("the provider client was replaced although [provider] never changed")
	}
}

// reloadCase is one step of TestReload: a change to the running
// configuration, reloaded, and what alice's session and the logs show
// after it. The steps run in order on one gateway.
type reloadCase struct {
	name       string
	change     func(c *testConfig)
	raw        string // written as is instead of the config
	wantLive   bool
	wantStatus int // alice's GET /admin/x afterwards
	check      func(t *testing.T, prev, now *generation)
	wantLogs   []string
}

func (tt reloadCase) run(t *testing.T, f *fixture, alice *http.Client) {
	prev := f.g.current()
	if tt.raw != "" {
		f.write(tt.raw)
	} else {
		c := f.cfg
		tt.change(&c)
		f.write(c.String())
	}
	if got := f.g.reload(context.Background()); got != tt.wantLive {
		t.Fatalf("reload live = %v, want %v; logs:\n%s", got, tt.wantLive, f.logs)
	}
	now := f.g.current()
	if (now != prev) != tt.wantLive {
		t.Errorf("generation swapped = %v, want %v", now != prev, tt.wantLive)
	}
	if got := f.get(alice, "/admin/x", false); got != tt.wantStatus {
		t.Errorf("GET /admin/x = %d, want %d", got, tt.wantStatus)
	}
	if tt.check != nil {
		tt.check(t, prev, now)
	}
	for _, want := range tt.wantLogs {
		if !strings.Contains(f.logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, f.logs)
		}
	}
}

// aliceRequest is a request to the gateway carrying the cookies of c.
func aliceRequest(t *testing.T, f *fixture, c *http.Client) *http.Request {
	t.Helper()
	r, err := http.NewRequest("GET", f.url("/app"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(r.URL) {
		r.AddCookie(ck)
	}
	return r
}

// TestReloadRedisSecrets rotates the secrets of a Redis store: the new
// store shares the Redis connection and the session stays valid.
func TestReloadRedisSecrets(t *testing.T) {
	addr := reviewRedis(t)
	redisTOML := fmt.Sprintf("store = \"redis\"\nredis_url = \"redis://%s/0\"\n", addr)
	f := newFixtureWith(t, nil, nil, func(c *testConfig) { c.session = redisTOML })
	alice := f.login()
	prev := f.g.current()
	c := f.cfg
	c.secrets = []string{secretB, secretA}
	f.write(c.String())
	if !f.g.reload(context.Background()) {
		t.Fatalf("reload failed; logs:\n%s", f.logs)
	}
	now := f.g.current()
	if now.store == prev.store || now.conn != prev.conn {
		t.Errorf("store rebuilt %v, connection kept %v; want a new store on the same connection",
			now.store != prev.store, now.conn == prev.conn)
	}
	if got := f.get(alice, "/app", false); got != 200 {
		t.Errorf("the session after rotating secrets: %d, want 200", got)
	}
}

// TestReloadProviderChange points the gateway at another provider: the new
// one is discovered before the swap, and a provider that cannot be
// discovered leaves the old configuration running.
func TestReloadProviderChange(t *testing.T) {
	f := newFixture(t, nil, nil)
	prev := f.g.current()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	c := f.cfg
	c.issuer = down.URL
	f.write(c.String())
	if f.g.reload(context.Background()) {
		t.Fatal("a provider whose discovery fails was swapped in")
	}
	if f.g.current() != prev {
		t.Fatal("generation changed")
	}
	other := oidctest.New(t, oidctest.Options{})
	c.issuer = other.Issuer
	f.write(c.String())
	if !f.g.reload(context.Background()) {
		t.Fatalf("reload failed; logs:\n%s", f.logs)
	}
	now := f.g.current()
	if now.provider == prev.provider || !now.provider.Ready() || now.provider.Issuer() != other.Issuer {
		t.Errorf("provider after reload: issuer %q ready %v", now.provider.Issuer(), now.provider.Ready())
	}
	f.login()
	if other.Requests("/token") != 1 {
		t.Errorf("the new provider redeemed %d codes, want 1", other.Requests("/token"))
	}
}

// TestShutdownDrainsUpgrades holds an upgraded connection open through the
// gateway: on shutdown /readyz turns 503, the connection gets the shutdown
// timeout (1s) and is then closed, and run returns.
func TestShutdownDrainsUpgrades(t *testing.T) {
	f := newFixture(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "test" {
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw) // echo until the gateway closes
	})
	conn, err := net.Dial("tcp", f.cfg.listen)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n",
		f.cfg.listen, f.p.AccessToken("alice", nil))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v; logs:\n%s", resp, err, f.logs)
	}
	fmt.Fprint(conn, "ping\n")
	if line, _ := br.ReadString('\n'); line != "ping\n" {
		t.Fatalf("echo = %q", line)
	}

	start := time.Now()
	f.stop()
	waitUntil(t, "/readyz to answer 503 while draining", func() bool {
		resp, err := http.Get("http://" + f.cfg.ops + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 503
	})
	fmt.Fprint(conn, "still\n")
	if line, _ := br.ReadString('\n'); line != "still\n" {
		t.Errorf("the upgraded connection was cut before the timeout: %q", line)
	}
	select {
	case err := <-f.done:
		f.done <- err
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return after the shutdown timeout")
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("run returned after %v, before the 1s shutdown timeout", d)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadString('\n'); err == nil {
		t.Error("the upgraded connection is still open after shutdown")
	}
	if _, err := net.DialTimeout("tcp", f.cfg.listen, time.Second); err == nil {
		t.Error("the gateway still accepts connections after shutdown")
	}
}

// otlpReceiver is an OTLP/HTTP collector that keeps the spans it receives.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	o := &otlpReceiver{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			http.Error(w, "bad request", 400)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				t.Error(err)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Errorf("OTLP body: %v", err)
			return
		}
		o.mu.Lock()
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				o.spans = append(o.spans, ss.GetSpans()...)
			}
		}
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	t.Cleanup(o.Close)
	return o
}

func TestTracingExport(t *testing.T) {
	rcv := newOTLPReceiver(t)
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL, "OTEL_BSP_SCHEDULE_DELAY": "50"}
	setOTELEnv(t, env)
	f := newFixture(t, env, nil)
	req, _ := http.NewRequest("GET", f.url("/reports?token=query-secret"), nil)
	req.Header.Set("Authorization", "Bearer "+f.p.AccessToken("alice", nil))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request: %v %v; logs:\n%s", resp, err, f.logs)
	}
	resp.Body.Close()
	hdr := <-f.upSeen
	tp := regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`).FindStringSubmatch(hdr.Get("Traceparent"))
	if tp == nil {
		t.Fatalf("upstream traceparent = %q", hdr.Get("Traceparent"))
	}
	f.stop()
	<-f.done
	f.done <- nil
	f.g.close() // flushes the batch

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	byName := map[string]*tracepb.Span{}
	for _, s := range rcv.spans {
		byName[s.GetName()] = s
		for _, kv := range s.GetAttributes() {
			if v := kv.GetValue().String(); strings.Contains(v, "query-secret") || strings.Contains(v, "eyJ") {
				t.Errorf("span %q attribute %s leaks %s", s.GetName(), kv.GetKey(), v)
			}
		}
	}
	for _, name := range []string{"GET /**", "policy.evaluate", "upstream app", "provider GET /.well-known/openid-configuration"} {
		if byName[name] == nil {
			t.Errorf("no span %q among %d exported", name, len(rcv.spans))
		}
	}
	if s := byName["upstream app"]; s != nil && fmt.Sprintf("%x", s.GetSpanId()) != tp[2] {
		t.Errorf("upstream traceparent names span %s, the upstream span is %x", tp[2], s.GetSpanId())
	}
	if s := byName["GET /**"]; s != nil && fmt.Sprintf("%x", s.GetTraceId()) != tp[1] {
		t.Errorf("server span is in trace %x, upstream saw %s", s.GetTraceId(), tp[1])
	}
}

// otelKeys are the variables the tracing tests set; each test sets all of
// them (t.Setenv), so that the process environment cannot leak in.
var otelKeys = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
	"OTEL_EXPORTER_OTLP_CLIENT_KEY", "OTEL_EXPORTER_OTLP_TIMEOUT"}

// setOTELEnv sets the process environment the OpenTelemetry SDK reads to
// env and returns a lookup over the same values, as run gets in production.
func setOTELEnv(t *testing.T, env map[string]string) func(string) (string, bool) {
	t.Helper()
	for _, k := range otelKeys {
		t.Setenv(k, env[k])
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestTracerProviderFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr string
	}{
		{name: "off by default", env: map[string]string{}},
		{name: "endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, want: true},
		{name: "traces endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/v1/traces"}, want: true},
		{name: "exporter named", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, want: true},
		{name: "sdk disabled", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}},
		{name: "exporter none", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, want: true},
		{name: "unknown protocol", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"},
			wantErr: `OTLP protocol "thrift": invalid OTLP protocol`},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "jaeger"},
			wantErr: `OTEL_TRACES_EXPORTER="jaeger"`},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"}, wantErr: "must be an http(s) URL"},
		{name: "bad resource attributes", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
			"OTEL_RESOURCE_ATTRIBUTES": "novalue"}, wantErr: "OTEL_RESOURCE_ATTRIBUTES"},
		{name: "headers, sampler, batch", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
			"OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b,x=y", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
			"OTEL_TRACES_SAMPLER_ARG": "0.5", "OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "gw"}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := newTracerProvider(setOTELEnv(t, tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tp != nil) != tt.want {
				t.Fatalf("tracing on = %v, want %v", tp != nil, tt.want)
			}
			if tp != nil {
				tp.Shutdown(context.Background())
			}
		})
	}
}

// TestTracingEnvCheckAndServe: check refuses the tracing environment that
// serve refuses, with the same message and exit code 2.
func TestTracingEnvCheckAndServe(t *testing.T) {
	path := writeConfig(t, "good.toml", checkGood)
	for _, env := range []map[string]string{
		{"OTEL_TRACES_EXPORTER": "zipkin-please"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
	} {
		getenv := setOTELEnv(t, env)
		_, err := newTracerProvider(getenv)
		if err == nil {
			t.Fatalf("%v: no error", env)
		}
		check := invoke(t, env, "check", "--config", path)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var out, errOut bytes.Buffer
		code := exitCode(run(ctx, []string{"serve", "--config", path}, getenv, &out, &errOut), &errOut)
		cancel()
		if check.code != 2 || code != 2 {
			t.Errorf("%v: check exit %d, serve exit %d; want 2 and 2", env, check.code, code)
		}
		for name, stderr := range map[string]string{"check": check.stderr, "serve": errOut.String()} {
			if !strings.Contains(stderr, err.Error()) {
				t.Errorf("%v: %s stderr %q does not say %q", env, name, stderr, err)
			}
		}
	}
	// A valid tracing environment passes check.
	setOTELEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"})
	if r := invoke(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, "check", "--config", path); r.code != 0 {
		t.Errorf("valid tracing environment: check exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestListenInUseNamesTheKey: a port another process holds is reported
// with the [server] key that names it, so the operator knows what to change.
func TestListenInUseNamesTheKey(t *testing.T) {
	f := newFixture(t, nil, nil)
	_, err := f.g.listen(nil) // the fixture's gateway holds the port
	if err == nil {
		t.Fatal("a second bind of the same address succeeded")
	}
	want := fmt.Sprintf("[server] listen = %q", f.cfg.listen)
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "another process listens there") {
		t.Fatalf("error %q does not name %s and the cause", msg, want)
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("error %v does not wrap EADDRINUSE", err)
	}
}

// waitUntil polls cond until it holds, failing the test after 10 s: a step
// of the gateway's (a request reaching the upstream) comes later on a
// loaded machine than any fixed sleep allows for.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}
