package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// syncBuffer is a log sink safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// withDebugLog sends the handler's log, at debug level, to buf.
func withDebugLog(buf *syncBuffer) fixtureOption {
	return func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
}

// TestUpstreamFailureLogOmitsQuery: a query string may carry an
// application's secrets (API keys, one-time codes, signed-URL signatures);
// the request log leaves it out, and so must the log line of an upstream
// that failed, whose transport error names the outbound URL.
func TestUpstreamFailureLogOmitsQuery(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs), func(c *Config) {
		c.Upstreams[0].URL = &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	})
	s := f.session()
	for _, target := range []string{"/public/x?api_key=SECRET-IN-QUERY", "/app/x?code=SECRET-IN-QUERY&sig=SECRET-IN-QUERY"} {
		resp := f.do(t, "GET", target, nil, withCookies(f.cookies(t, s)))
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("%s: status = %d, want 502", target, resp.StatusCode)
		}
		if body := readBody(t, resp); strings.Contains(body, "SECRET") {
			t.Errorf("%s: the answer echoes the query: %s", target, body)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "bad_gateway") {
		t.Fatalf("no upstream failure logged:\n%s", out)
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("the log holds the query string:\n%s", out)
	}
}

// TestTunnelAndTraceMethodsRefused: CONNECT cannot be proxied as a
// request (its authority-form target has no path to authorize, and a
// tunnel past the gateway would escape every later check), and TRACE makes
// an upstream echo the forwarded request, identity headers and assertion
// included, back to the client. Both are refused before routing, on public
// routes too, and never reach the upstream.
func TestTunnelAndTraceMethodsRefused(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	s := f.session()
	cookie := ""
	for _, c := range f.cookies(t, s) {
		cookie += c.Name + "=" + c.Value + "; "
	}
	for _, raw := range []string{
		"CONNECT gw.test:443 HTTP/1.1\r\nHost: gw.test:443\r\n\r\n",
		"CONNECT /public/x HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		"TRACE /public/x HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		"TRACE /app/x HTTP/1.1\r\nHost: gw.test\r\nCookie: " + cookie + "\r\n\r\n",
		"TRACK /app/x HTTP/1.1\r\nHost: gw.test\r\nCookie: " + cookie + "\r\n\r\n",
	} {
		resp := rawRequest(t, srv, raw, false)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%q: status = %d, want 405", raw[:20], resp.StatusCode)
		}
	}
	if n := f.up.count(); n != 0 {
		t.Errorf("the upstream received %d requests", n)
	}
}

// TestRawFragmentInQueryRefused: "#" cannot appear raw in a
// request-target (RFC 9112 §3.2); an upstream may cut the query there, or
// read the rest as part of the last parameter, so the gateway and the
// upstream would disagree on the query. Such a request is a 400, and
// nothing reaches the upstream.
func TestRawFragmentInQueryRefused(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	for _, raw := range []string{
		"GET /public/x?a=1#frag HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		"GET /public/x?#&access_token=x HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		"GET /public/x# HTTP/1.1\r\nHost: gw.test\r\n\r\n",
	} {
		resp := rawRequest(t, srv, raw, false)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%q: status = %d, want 400", raw[:24], resp.StatusCode)
		}
	}
	if n := f.up.count(); n != 0 {
		t.Errorf("the upstream received %d requests: %+v", n, f.up.last(t))
	}
	// An encoded "#" in the query is an ordinary character and passes.
	resp := rawRequest(t, srv, "GET /public/x?a=%23b HTTP/1.1\r\nHost: gw.test\r\n\r\n", false)
	if resp.StatusCode != http.StatusOK || f.up.last(t).RequestURI != "/public/x?a=%23b" {
		t.Errorf("encoded #: status %d", resp.StatusCode)
	}
}

// reinterpretedPaths carry an encoded slash that url.URL.EscapedPath would
// decode into a real separator (it re-encodes the decoded path whenever the
// original holds a character such as '{' or '|'): each must be the 400 that
// an encoded slash is, never a request authorized as the decoded path.
var reinterpretedPaths = []string{
	"/public/x%2Fy{",
	"/denied/x%2F..%2F..%2Fpublic%2Fy{",
	"/admin/%2e%2e%2F%2e%2e%2Fpublic%2Fy|",
	"/denied/x%2F..%2F..%2Fpublic%2Fy%22",
	"/denied/x%5C..%5C..%5Cpublic%5Cy^",
	"/denied/x%3F|",
}

// TestEncodedSlashNotDecodedByReencoding: proxy mode.
func TestEncodedSlashNotDecodedByReencoding(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	for _, p := range reinterpretedPaths {
		resp := rawRequest(t, srv, "GET "+p+" HTTP/1.1\r\nHost: gw.test\r\n\r\n", false)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status = %d, want 400", p, resp.StatusCode)
		}
	}
	if n := f.up.count(); n != 0 {
		t.Errorf("the upstream received %d requests, the last %s", n, f.up.last(t).RequestURI)
	}
	// '{' and '|' alone are harmless and kept encoded.
	resp := rawRequest(t, srv, "GET /public/a{b}|c HTTP/1.1\r\nHost: gw.test\r\n\r\n", false)
	if resp.StatusCode != http.StatusOK || f.up.last(t).RequestURI != "/public/a%7Bb%7D%7Cc" {
		t.Errorf("braces: status %d", resp.StatusCode)
	}
}

// TestForwardAuthEncodedSlashNotDecodedByReencoding: in forward-auth mode
// the application receives the original URI from the front proxy, so a
// path decoded here into "/public/y" would be an authorization bypass of
// /denied: "/denied/x%2F..%2F..%2Fpublic%2Fy{" was answered 200 (public).
func TestForwardAuthEncodedSlashNotDecodedByReencoding(t *testing.T) {
	f := newFixture(t)
	for _, p := range reinterpretedPaths {
		for _, hdr := range [][2]string{{"X-Forwarded-Uri", p}, {"X-Original-URL", "http://app.test" + p}} {
			resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"),
				withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test"), withHeader(hdr[0], hdr[1]))
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %s: status = %d, want 400", hdr[0], p, resp.StatusCode)
			}
		}
	}
}

// TestRedirectHostsOutsideASCIIRefused: a return URL whose host is not
// plain ASCII is refused, even under an allowed wildcard: the browser's IDNA
// mapping may turn it into another host, or split it ("a℀.example.net" maps
// to "aa/c.example.net", host "aa"), after it was compared here.
func TestRedirectHostsOutsideASCIIRefused(t *testing.T) {
	f := newFixture(t)
	for _, rd := range []string{
		"https://a\u2100.example.com/",          // ℀ -> "a/c"
		"https://a%E2%84%80.example.com/",       // the same, percent-encoded
		"https://evil.test\uff0fa.example.com/", // fullwidth solidus -> "/"
		"https://evil.test\uff03a.example.com/", // fullwidth number sign -> "#"
		"https://app\u0131.example.com/",        // dotless i
		"http://gw.test\u3002/",                 // ideographic full stop
	} {
		if got := f.h.redirects.validate(rd); got != "/" {
			t.Errorf("validate(%q) = %q, want /", rd, got)
		}
		resp := f.do(t, "GET", "/oauth2/start?rd="+url.QueryEscape(rd), nil, browser())
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start: %d", resp.StatusCode)
		}
	}
	for _, rd := range []string{"https://a.example.com/x", "https://xn--mnchen-3ya.example.com/", "http://app.test/", "http://gw.test/a"} {
		if got := f.h.redirects.validate(rd); got != rd {
			t.Errorf("validate(%q) = %q, want it kept", rd, got)
		}
	}
}

// TestStalledStreamingBodyTimesOut: a body longer than the pre-read limit
// streams, and a client that stops sending half-way no longer holds the
// request (and its upstream connection) for ever: once a read waits longer
// than the stream idle timeout, the client gets 408 and the upstream
// request is aborted, not ended as if complete. A slow body that keeps
// progressing is forwarded in full.
func TestStalledStreamingBodyTimesOut(t *testing.T) {
	// Pauses of a fifth of the idle timeout, eight of them: together longer
	// than it, so a timeout that is not renewed by each read still shows.
	// Pauses of half of it (200 ms of 400) drew a 408 for the progressing
	// body under -race with GOMAXPROCS=1 and four busy CPUs.
	const idle, pause, pauses = time.Second, 200 * time.Millisecond, 8
	srv, up, f := bodyGatewayFixture(t)
	f.h.single.bodies.idle = idle
	for _, head := range []string{
		postHead + fmt.Sprintf("Content-Length: %d\r\n\r\n", 4*preReadLimit),
		postHead + "Transfer-Encoding: chunked\r\n\r\n",
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(15 * time.Second))
		part := strings.Repeat("s", 2*preReadLimit)
		if strings.Contains(head, "chunked") {
			part = chunk(part)
		}
		start := time.Now()
		_, _ = io.WriteString(c, head+part) // then nothing more
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer to a stalled body after %v: %v", time.Since(start), err)
		}
		_ = c.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("status = %d, want 408", resp.StatusCode)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("answered after %v", d)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(up.requests()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, r := range up.requests() {
		if r.err == nil {
			t.Errorf("the upstream read %d bytes and a clean end: want an aborted request", r.body)
		}
	}

	// Progressing slowly, each pause shorter than the idle timeout: forwarded.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	total := 2*preReadLimit + pauses*1000
	_, _ = io.WriteString(c, postHead+fmt.Sprintf("Content-Length: %d\r\n\r\n", total)+strings.Repeat("p", 2*preReadLimit))
	for i := 0; i < pauses; i++ {
		time.Sleep(pause)
		_, _ = io.WriteString(c, strings.Repeat("q", 1000))
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("slow but progressing body: %v %v", resp, err)
	}
	body := readBody(t, resp)
	if body != fmt.Sprintf("read %d", total) {
		t.Errorf("upstream answered %q", body)
	}
}

// TestForwardAuthRefusesWhatProxyModeRefuses: the forward-auth endpoint
// answers for the original request as proxy mode would: CONNECT, TRACE and
// TRACK are refused (405), and so is a raw "#" in X-Forwarded-Uri's query
// (400), where the front proxy and the application may not agree on where
// the query ends. Before, each was 200 on a public route.
func TestForwardAuthRefusesWhatProxyModeRefuses(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		method, uri string
		want        int
	}{
		{"TRACE", "/public/x", http.StatusMethodNotAllowed},
		{"CONNECT", "/public/x", http.StatusMethodNotAllowed},
		{"TRACK", "/public/x", http.StatusMethodNotAllowed},
		{"GET", "/public/x?a#/../denied", http.StatusBadRequest},
		{"GET", "/public/x?a=%23", http.StatusOK},
		{"GET", "/public/x", http.StatusOK},
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", tt.method),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", tt.uri))
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: status = %d, want %d", tt.method, tt.uri, resp.StatusCode, tt.want)
		}
	}
}

// TestForwardAuthRefusesMethodOverride: the front proxy passes a client's
// method-override header to the application, which may perform the method
// it names; the gateway, which removes these headers in proxy mode, cannot
// there, so forward-auth refuses the request (400) in any spelling.
func TestForwardAuthRefusesMethodOverride(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"X-HTTP-Method-Override", "x-http-method", "X_Method_Override", ""} {
		opts := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/public/x")}
		if name != "" {
			opts = append(opts, func(r *http.Request) { r.Header[name] = []string{"DELETE"} })
		}
		resp := f.do(t, "GET", "/oauth2/auth", nil, opts...)
		want := http.StatusBadRequest
		if name == "" {
			want = http.StatusOK
		}
		if resp.StatusCode != want {
			t.Errorf("%q: status = %d, want %d", name, resp.StatusCode, want)
		}
	}
}

// TestReverseProxyComplaintsInTheLog: the reverse proxy reports an upstream
// body that breaks off (a truncated answer, a reset stream) through its
// ErrorLog, which was left nil: Go's standard logger then wrote a bare
// "2006/01/02 15:04:05 httputil: ..." line to standard error, outside
// [log] format (a line a JSON log pipeline cannot read), outside the
// buffered log writer, and at any [log] level. It goes to the gateway's
// logger at warn, naming the upstream.
func TestReverseProxyComplaintsInTheLog(t *testing.T) {
	var std syncBuffer
	log.SetOutput(&std)
	defer log.SetOutput(os.Stderr)
	var logs syncBuffer
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write([]byte("short"))
	}, withDebugLog(&logs))
	resp := f.do(t, "GET", "/public/truncated?k=SECRET-IN-QUERY", nil)
	_ = readBody(t, resp)
	if s := std.String(); s != "" {
		t.Errorf("the standard logger got %q", s)
	}
	got := logs.String()
	found := false
	for _, line := range strings.Split(got, "\n") {
		found = found || (strings.Contains(line, "level=WARN") && strings.Contains(line, "ReverseProxy read error") &&
			strings.Contains(line, "upstream=app"))
	}
	if !found {
		t.Errorf("the gateway's log has no warning of the broken-off body:\n%s", got)
	}
	if strings.Contains(got, "SECRET") {
		t.Errorf("the log holds the query:\n%s", got)
	}
}

// TestAbortedResponseIsLoggedAndCounted: when a client hangs up while a
// forwarded answer streams, the reverse proxy ends the handler with
// panic(http.ErrAbortHandler), which net/http swallows without a word.
// The request's log line, its requests_total and request_duration_seconds,
// its upstream duration and its span were all written after the forwarding
// returned, so none was: anyone could fetch a large download or a stream
// through the gateway, hang up before its last byte, and leave no trace in
// the access log or the metrics. They are now recorded on the way out.
func TestAbortedResponseIsLoggedAndCounted(t *testing.T) {
	var logs syncBuffer
	reg := prometheus.NewPedanticRegistry()
	rec := tracetest.NewSpanRecorder()
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 100 && r.Context().Err() == nil; i++ {
			_, _ = w.Write(bytes.Repeat([]byte("x"), 64<<10))
			w.(http.Flusher).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	}, withDebugLog(&logs), func(c *Config) {
		c.Metrics = reg
		c.Tracer = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("GET /public/export.csv HTTP/1.1\r\nHost: gw.test\r\n\r\n"))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "path=/public/export.csv") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "msg=request method=GET host=gw.test path=/public/export.csv route=0 outcome=public status=200") {
		t.Errorf("no request line for the aborted download:\n%s", logs.String())
	}
	if got := counterValue(t, f.h.metrics.requests.WithLabelValues("0", "read", "public")); got != 1 {
		t.Errorf("requests_total{0,read,public} = %v, want 1", got)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	observed := false
	for _, mf := range families {
		if mf.GetName() == "portcullis_upstream_duration_seconds" {
			observed = mf.GetMetric()[0].GetHistogram().GetSampleCount() == 1
		}
	}
	if !observed {
		t.Error("upstream_duration_seconds did not record the aborted forwarding")
	}
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	if !slices.Contains(names, "GET /public/**") {
		t.Errorf("the server span was not ended: ended spans %q", names)
	}
}

// TestEncodedSemicolonRefusedInBothModes: "%3B" is refused (400) as a raw
// ";" is, by proxy mode and by forward-auth: nginx with a URI in
// proxy_pass, in front of the gateway or behind it, decodes it, and the
// application receives a path parameter it strips ("/public%3Bx" would
// reach it as "/public;x", served as "/public"). Before, each was decided
// with "%3B" as part of its segment and forwarded.
func TestEncodedSemicolonRefusedInBothModes(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/public/a%3Bb", "/public/a%3bb", "/x%3B/public"} {
		before := f.up.count()
		if resp := f.do(t, "GET", p, nil); resp.StatusCode != http.StatusBadRequest || f.up.count() != before {
			t.Errorf("GET %s: status %d, upstream reached %v; want 400, not reached", p, resp.StatusCode, f.up.count() != before)
		}
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", p))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("forward-auth for GET %s: status %d, want 400", p, resp.StatusCode)
		}
	}
}
