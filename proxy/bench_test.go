package proxy

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/session"
)

// The hot-path target (docs/performance.md): an authenticated request through the
// handler costs at most 1.15x the CPU of a bare, tuned ReverseProxy to the
// same upstream. Each benchmark reports cpu-ns/op (process user+system CPU
// per request, upstream included, the same for both) beside ns/op.
//
//	go test -run '^$' -bench . -benchmem ./proxy/

// benchUpstream is a minimal upstream on loopback.
func benchUpstream(b *testing.B) *url.URL {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "ok")
	}))
	b.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// discardWriter is a ResponseWriter that keeps nothing but the header map.
// Like the server's, it takes write deadlines (the send timeout sets one
// around each write): a writer without them costs an error value per write
// that no served request pays.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

func (d *discardWriter) SetWriteDeadline(time.Time) error { return nil }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runBench serves r through h b.N times and reports CPU per request.
func runBench(b *testing.B, h http.Handler, r *http.Request) {
	b.Helper()
	runBenchStatus(b, h, r, http.StatusOK)
}

// runBenchStatus is runBench for a request answered with status want.
func runBenchStatus(b *testing.B, h http.Handler, r *http.Request, want int) {
	b.Helper()
	ok := func(status int) bool { return status == want || (want == http.StatusOK && status == 0) }
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // warm connections and caches
	if !ok(w.status) {
		b.Fatalf("status %d", w.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	if !ok(w.status) {
		b.Fatalf("status %d", w.status)
	}
}

func benchFixture(b *testing.B) *fixture {
	b.Helper()
	up := benchUpstream(b)
	return newFixture(b, func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: up}}
		// The default configuration logs one line per request at info.
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
}

func BenchmarkAuthenticatedCookieRequest(b *testing.B) {
	f := benchFixture(b)
	r := httptest.NewRequest("GET", "http://app.test/app/dashboard?x=1", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Accept", "text/html")
	for _, c := range f.cookies(b, f.session()) {
		r.AddCookie(c)
	}
	r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	runBench(b, f.h, r)
}

// BenchmarkAuthenticatedChunkedAnswer: an answer over 2 KiB from a Go
// upstream whose handler sets no Content-Length comes chunked, of unknown
// length, and is watched for its identity's end while quiet too.
func BenchmarkAuthenticatedChunkedAnswer(b *testing.B) {
	page := strings.Repeat("x", 4<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, page)
	}))
	b.Cleanup(srv.Close)
	up, _ := url.Parse(srv.URL)
	f := newFixture(b, func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: up}}
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	r := httptest.NewRequest("GET", "http://app.test/app/dashboard", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	for _, c := range f.cookies(b, f.session()) {
		r.AddCookie(c)
	}
	runBench(b, f.h, r)
}

func BenchmarkBearerCachedRequest(b *testing.B) {
	f := benchFixture(b)
	// The fake provider returns the same identity for a token, as the idp
	// cache does for a verified token.
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	r := httptest.NewRequest("POST", "http://app.test/api/items", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Authorization", "Bearer tok")
	runBench(b, f.h, r)
}

func BenchmarkBareReverseProxy(b *testing.B) {
	up := benchUpstream(b)
	tr, err := newTransport(Upstream{Name: "app", URL: up}, nil)
	if err != nil {
		b.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			pr.SetXForwarded()
		},
		Transport:  tr,
		BufferPool: &bufferPool{},
	}
	// The same request as BenchmarkAuthenticatedCookieRequest, session
	// cookie included: the bare proxy forwards it as it is.
	f := benchFixture(b)
	r := httptest.NewRequest("GET", "http://app.test/app/dashboard?x=1", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Accept", "text/html")
	for _, c := range f.cookies(b, f.session()) {
		r.AddCookie(c)
	}
	r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	runBench(b, rp, r)
}

// BenchmarkAssertionSign measures one identity assertion (ES256, the
// generated key): what a renewal costs, once per identity and audience
// every quarter to half of the assertion's lifetime.
func BenchmarkAssertionSign(b *testing.B) {
	s, err := newSigner(nil, nil, nil, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	id := &portcullis.Identity{Subject: "user-1", Email: "user-1@example.com", EmailVerified: true,
		PreferredUsername: "user-1", Groups: []string{"staff", "team-1"}}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.sign("https://gw.example.com", "app.example.com", id, now, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRecheck times one recheck of an open connection (recheck: the
// identity looked up again and the request decided again), as each open
// WebSocket, streaming answer and upload makes every 10 s.
func benchRecheck(b *testing.B, f *fixture, w *upgradeWatch) {
	b.Helper()
	if err := f.h.recheck(w); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := f.h.recheck(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecheckCookieSession(b *testing.B) {
	f := benchFixture(b)
	s := f.session()
	r := httptest.NewRequest("GET", "http://app.test/app/ws", nil)
	for _, c := range f.cookies(b, s) {
		r.AddCookie(c)
	}
	benchRecheck(b, f, &upgradeWatch{sess: newSessionProbe(r, s), id: &s.Identity,
		q: request{method: "GET", host: Host{Name: "app.test"}, path: "/app/ws"}})
}

func BenchmarkRecheckBearer(b *testing.B) {
	f := benchFixture(b)
	id := &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	f.prov.bearers["ws"] = id
	benchRecheck(b, f, &upgradeWatch{bearer: "ws", id: id,
		q: request{method: "GET", host: Host{Name: "app.test"}, path: "/app/ws"}})
}

// benchRedisFixture is benchFixture on a real redis-server, with the store
// options the gateway sets for [headers] access_token and [headers.claims]
// (cmd/portcullis: KeepAccessToken, KeepClaims), or without the access
// token kept (keep false: what an embedder of the proxy package may build).
func benchRedisFixture(b *testing.B, accessTokenHeader string, keep bool) (*fixture, []*http.Cookie) {
	b.Helper()
	addr := startRedisServer(b)
	f := benchFixture(b)
	f.cfg.Headers.AccessToken = accessTokenHeader
	st, err := session.NewRedisStore(session.RedisConfig{URL: "redis://" + addr + "/0"},
		session.CookieConfig{Name: "portcullis", Secrets: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
			Lifetime: 12 * time.Hour, Now: f.clock.Now},
		session.StoreOptions{KeepAccessToken: keep, KeepClaims: []string{"tenant"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	f.cfg.Sessions = st
	if f.h, err = New(f.cfg); err != nil {
		b.Fatal(err)
	}
	s := f.session()
	s.Identity.Claims = map[string]any{"tenant": "t1", "locale": "de"}
	return f, saveToStore(b, st, s)
}

func BenchmarkAuthenticatedRedisRequest(b *testing.B) {
	f, cookies := benchRedisFixture(b, "", false)
	runBench(b, f.h, benchCookieRequest(cookies))
}

func BenchmarkAuthenticatedRedisAccessTokenRequest(b *testing.B) {
	f, cookies := benchRedisFixture(b, "Authorization", true)
	runBench(b, f.h, benchCookieRequest(cookies))
}

// BenchmarkAuthenticatedRedisUnkeptTokenRequest: the access token is read
// from Redis for each request (Store.Full); the identity's values and
// assertion still come from the cache.
func BenchmarkAuthenticatedRedisUnkeptTokenRequest(b *testing.B) {
	f, cookies := benchRedisFixture(b, "Authorization", false)
	runBench(b, f.h, benchCookieRequest(cookies))
}

// benchCookieRequest is BenchmarkAuthenticatedCookieRequest's request with cookies.
func benchCookieRequest(cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "http://app.test/app/dashboard?x=1", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func BenchmarkBearerAccessTokenRequest(b *testing.B) {
	f := benchFixture(b)
	f.cfg.Headers.AccessToken = "Authorization"
	var err error
	if f.h, err = New(f.cfg); err != nil {
		b.Fatal(err)
	}
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	r := httptest.NewRequest("POST", "http://app.test/api/items", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Authorization", "Bearer tok")
	runBench(b, f.h, r)
}

// The forward-auth benchmarks: one subrequest per request to every
// protected app, from a trusted front proxy, with the headers it sends.

// forwardAuthRequest is a subrequest to {prefix}/auth from a trusted peer
// with the given headers, sent to the gateway's own address (a Host naming
// public_url's host would have to name the original's too).
func forwardAuthRequest(hdr map[string]string) *http.Request {
	r := httptest.NewRequest("GET", "http://127.0.0.1:4180/oauth2/auth", nil)
	r.RemoteAddr = "10.0.0.5:4000"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

// ingressNginxHeaders are what ingress-nginx's auth subrequest carries for
// a browser's GET (the documented set-up adds X-Forwarded-Host).
var ingressNginxHeaders = map[string]string{
	"X-Original-URL":          "https://app.test/app/dashboard?x=1",
	"X-Original-Method":       "GET",
	"X-Sent-From":             "nginx-ingress-controller",
	"X-Real-IP":               "192.0.2.7",
	"X-Forwarded-For":         "192.0.2.7",
	"X-Forwarded-Host":        "app.test",
	"X-Forwarded-Proto":       "https",
	"X-Auth-Request-Redirect": "/app/dashboard?x=1",
	"X-Request-ID":            "4f1c2a9e0b7d43c58a6e2f9d1b3c5a7e",
	"Accept":                  "text/html",
}

// traefikHeaders are what Traefik's ForwardAuth (and Caddy's forward_auth)
// send for the same request.
var traefikHeaders = map[string]string{
	"X-Forwarded-Method": "GET",
	"X-Forwarded-Proto":  "https",
	"X-Forwarded-Host":   "app.test",
	"X-Forwarded-Uri":    "/app/dashboard?x=1",
	"X-Forwarded-For":    "192.0.2.7",
	"Accept":             "text/html",
}

func benchForwardAuthCookie(b *testing.B, hdr map[string]string) {
	f := benchFixture(b)
	r := forwardAuthRequest(hdr)
	for _, c := range f.cookies(b, f.session()) {
		r.AddCookie(c)
	}
	r.AddCookie(&http.Cookie{Name: "theme", Value: "dark"})
	runBench(b, f.h, r)
}

func BenchmarkForwardAuthCookieIngressNginx(b *testing.B) {
	benchForwardAuthCookie(b, ingressNginxHeaders)
}

func BenchmarkForwardAuthCookieTraefik(b *testing.B) {
	benchForwardAuthCookie(b, traefikHeaders)
}

func BenchmarkForwardAuthBearerCached(b *testing.B) {
	f := benchFixture(b)
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	r := forwardAuthRequest(map[string]string{
		"X-Forwarded-Method": "POST", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.test",
		"X-Forwarded-Uri": "/api/items", "X-Forwarded-For": "192.0.2.7", "Authorization": "Bearer tok",
	})
	runBench(b, f.h, r)
}

// BenchmarkForwardAuthNoIdentity: a browser without a session, answered
// 401 with the sign-in URL.
func BenchmarkForwardAuthNoIdentity(b *testing.B) {
	f := benchFixture(b)
	runBenchStatus(b, f.h, forwardAuthRequest(traefikHeaders), http.StatusUnauthorized)
}

// BenchmarkAuthenticatedCookieMix is BenchmarkAuthenticatedCookieRequest
// with the load benchmark's many-sessions mix: each request carries one of
// 10,000 distinct users' sessions, with tokens of a real provider's size
// (about 900 bytes each, sealed into a cookie of about 2.5 KB), in turn.
// Every session is opened and its assertion signed once before the timer
// starts, as the load benchmark's warm-up does. One request is served with
// each Cookie header in turn: 10,000 requests kept for the run would add
// their own pointers to every collection's work, which a gateway's
// requests, gone once answered, do not.
func BenchmarkAuthenticatedCookieMix(b *testing.B) {
	const sessions = 10_000
	f := benchFixture(b)
	token := func(sub, kind string) string { return kind + "." + sub + "." + strings.Repeat("x", 900) }
	headers := make([][]string, sessions)
	r := benchCookieRequest(nil)
	for i := range headers {
		s := f.session()
		sub := "user-" + strconv.Itoa(i)
		s.Identity.Subject, s.Identity.PreferredUsername, s.Identity.Email = sub, sub, sub+"@example.com"
		s.Identity.Groups = []string{"staff", "team-" + strconv.Itoa(i%50)}
		s.AccessToken, s.IDToken = token(sub, "at"), token(sub, "idt")
		c := benchCookieRequest(append(f.cookies(b, s), &http.Cookie{Name: "theme", Value: "dark"}))
		headers[i] = c.Header["Cookie"]
	}
	w := &discardWriter{h: http.Header{}}
	for _, h := range headers {
		r.Header["Cookie"] = h
		f.h.ServeHTTP(w, r)
	}
	runBenchMix(b, f.h, r, headers, w)
}

// runBenchMix serves r through h with each of cookies in turn, b.N
// requests in all, and reports CPU per request (a function of its own, so
// that a CPU profile can be focused on the timed requests, without the
// warm-up's).
func runBenchMix(b *testing.B, h http.Handler, r *http.Request, cookies [][]string, w *discardWriter) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		w.status = 0
		r.Header["Cookie"] = cookies[i%len(cookies)]
		h.ServeHTTP(w, r)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkAuthenticatedCookieParallel is BenchmarkAuthenticatedCookieRequest
// from 128 goroutines per processor at once (run it with -cpu 2 and
// -mutexprofile / -blockprofile): the requests of many connections share the
// session and identity caches' shards, the metrics' series and the access
// log's lock, as they do in a gateway under load. The log goes through a
// lock and a 64 KiB buffer, as the gateway's does.
func BenchmarkAuthenticatedCookieParallel(b *testing.B) {
	up := benchUpstream(b)
	f := newFixture(b, func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: up}}
		c.Logger = slog.New(slog.NewTextHandler(&lockedBuffer{w: bufio.NewWriterSize(io.Discard, 64<<10)}, nil))
	})
	r := benchCookieRequest(append(f.cookies(b, f.session()), &http.Cookie{Name: "theme", Value: "dark"}))
	f.h.ServeHTTP(&discardWriter{h: http.Header{}}, r)
	b.ReportAllocs()
	b.SetParallelism(128)
	b.ResetTimer()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		r := r.Clone(r.Context())
		for pb.Next() {
			clear(w.h)
			w.status = 0
			f.h.ServeHTTP(w, r)
			if w.status != 0 && w.status != http.StatusOK {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// lockedBuffer is the gateway's log writer in short: a lock around a
// buffer.
type lockedBuffer struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
