package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/proxy"
	"github.com/portcullis/portcullis/session"
)

// gateway is one running Portcullis: the live generation of handler,
// provider and store (swapped atomically on reload) and what it needs to
// report readiness and shut down.
type gateway struct {
	logger   *slog.Logger
	registry *prometheus.Registry
	env      func(string) (string, bool)
	tracer   *sdktrace.TracerProvider // nil = tracing off
	// assertionKey signs identity assertions while no assertion_key_file is
	// set; generated once so that a reload keeps the published key.
	assertionKey crypto.Signer
	cur          atomic.Pointer[generation]
	reloadMu     sync.Mutex
	// reloadQueued is set while a reload asked for by SIGHUP waits for
	// reloadMu: further SIGHUPs are folded into it (reloadOnSignal).
	reloadQueued atomic.Bool
	draining     atomic.Bool
	upgrades     upgradeTracker
	activeGauge  sync.Once // portcullis_active_sessions, once a Redis store exists
	reloads      reloadMetrics
	memoryShare  float64 // of the container's memory limit for GOMEMLIMIT; 0 = set none
}

// generation is what one loaded configuration runs on.
type generation struct {
	cfg      *config.Config
	provider *idp.Client
	store    session.Store
	// conn is the store that owns the store's connections: store itself,
	// or the earlier Redis store whose connection it shares.
	conn    session.Store
	states  *session.StateCookies
	handler *proxy.Handler
	// assertionKey signs this generation's assertions; retiredKey (nil =
	// none) is the public key a reload replaced, which jwks.json lists
	// until retiredUntil (retiredAssertionKey).
	assertionKey crypto.Signer
	retiredKey   crypto.PublicKey
	retiredUntil time.Time
}

// buildGateway wires the packages together. It does no network I/O: provider
// discovery happens in run, so serve starts even when the provider is down.
// env supplies the OTEL_* variables of tracing (nil = no tracing) and the
// ${VAR}s of reloaded configurations.
func buildGateway(cfg *config.Config, logger *slog.Logger, env func(string) (string, bool)) (*gateway, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(buildInfo())
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	tp, err := newTracerProvider(env)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	share, err := memoryShare(env)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	g := &gateway{logger: logger, registry: reg, env: env, tracer: tp, assertionKey: key, memoryShare: share}
	gen, err := g.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	g.cur.Store(gen)
	g.reloads = newReloadMetrics(reg, time.Now())
	if tp != nil {
		logger.Info("tracing enabled")
	}
	return g, nil
}

// current returns the live generation.
func (g *gateway) current() *generation { return g.cur.Load() }

// liveHandler is the handler of the configuration in force (nil before the
// first one is): open connections and answers are checked again with it
// (proxy.Config.Live), so that a reload's rules apply to them too.
func (g *gateway) liveHandler() *proxy.Handler {
	if gen := g.current(); gen != nil {
		return gen.handler
	}
	return nil
}

// ServeHTTP hands the request to the live handler.
func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.cur.Load().handler.ServeHTTP(w, r)
}

// build makes a generation for cfg. It reuses prev's provider client when
// [provider] is unchanged, and prev's session store (and so its Redis
// connection) and login-state jar when the session settings are unchanged.
func (g *gateway) build(cfg *config.Config, prev *generation) (*generation, error) {
	gen := &generation{cfg: cfg}
	var err error
	if prev != nil && reflect.DeepEqual(prev.cfg.Provider, cfg.Provider) {
		gen.provider = prev.provider
	} else {
		pcfg := cfg.Provider
		pcfg.Logger, pcfg.Metrics = g.logger, g.registry
		pcfg.ReplayGuard, pcfg.ReplaySeen = g.replayGuard, g.replaySeen
		if g.tracer != nil {
			pcfg.HTTPClient = tracedProviderClient(g.tracer)
		}
		if gen.provider, err = idp.New(pcfg); err != nil {
			return nil, &exitError{code: 2, err: err}
		}
	}
	if err := g.buildStore(gen, prev); err != nil {
		return nil, err
	}
	if prev != nil && reflect.DeepEqual(loginStateCookie(prev.cfg), loginStateCookie(cfg)) {
		gen.states = prev.states
	} else if gen.states, err = session.NewStateCookies(loginStateCookie(cfg)); err != nil {
		g.discard(prev, gen)
		return nil, err
	}
	px := cfg.Proxy
	px.Provider, px.Sessions, px.LoginStates = gen.provider, gen.store, gen.states
	px.Metrics, px.Logger = g.registry, g.logger
	px.ShuttingDown = g.draining.Load
	px.Live = g.liveHandler
	if px.AssertionKey == nil {
		px.AssertionKey = g.assertionKey
	}
	gen.assertionKey = px.AssertionKey
	gen.retiredKey, gen.retiredUntil = retiredAssertionKey(prev, gen.assertionKey.Public(), time.Now())
	px.RetiredAssertionKey, px.RetiredAssertionKeyUntil = gen.retiredKey, gen.retiredUntil
	if g.tracer != nil {
		px.Tracer = g.tracer
	}
	if gen.handler, err = proxy.New(px); err != nil {
		g.discard(prev, gen)
		return nil, err
	}
	return gen, nil
}

// loginStateCookie is the cookie configuration of cfg's login states. They
// are bound as sessions are, to the provider, and to the redirect URI the
// sign-in began with too, which the code exchange must repeat (RFC 6749
// §4.1.3): a sign-in under way when a reload changes public_url ends on the
// callback's page for an expired sign-in (400, "Try again"), not in the
// provider refusing the code (a 502 and a warning that blames the provider).
func loginStateCookie(cfg *config.Config) session.CookieConfig {
	c := cfg.Cookie
	c.Binding += " " + cfg.Provider.RedirectURL
	return c
}

// retiredAssertionKey is the public key that jwks.json keeps listing next
// to pub, the key of the generation replacing prev: prev's key when it is
// another one (a reload changed headers.assertion_key_file), for
// proxy.RetiredKeyGrace from now, since the assertions prev signed a
// moment ago are still in flight or held by the apps; else the key prev
// kept listing. Only the last replaced key is kept: one replaced two
// rotations ago is no longer listed.
func retiredAssertionKey(prev *generation, pub crypto.PublicKey, now time.Time) (crypto.PublicKey, time.Time) {
	if prev == nil {
		return nil, time.Time{}
	}
	old := prev.assertionKey.Public()
	if k, ok := old.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(pub) {
		return prev.retiredKey, prev.retiredUntil
	}
	return old, now.Add(proxy.RetiredKeyGrace)
}

// replayGuard asks the current session store whether a logout token's jti
// is used for the first time on any replica (redis store). With the cookie
// store back-channel logout answers 501, so the process memory suffices.
func (g *gateway) replayGuard(ctx context.Context, key string, until time.Time) (bool, error) {
	rg, ok := storeOf(g.current()).(session.ReplayGuard)
	if !ok {
		return true, nil
	}
	return rg.FirstUse(ctx, key, max(time.Until(until), time.Second))
}

// replaySeen reports whether replayGuard recorded key on any replica.
func (g *gateway) replaySeen(ctx context.Context, key string) (bool, error) {
	if rg, ok := storeOf(g.current()).(session.ReplayGuard); ok {
		return rg.Used(ctx, key)
	}
	return false, nil
}

// buildStore gives gen its session store: prev's when the session settings
// are unchanged, one on prev's Redis connection when only the cookie
// settings (secrets) changed, else a new one (also when [headers]
// access_token, [headers.claims] or a route's require_claims changed: what
// the store keeps of a session in memory, sameResident).
func (g *gateway) buildStore(gen, prev *generation) error {
	cfg := gen.cfg
	if prev != nil && !sameResident(prev.cfg, cfg) {
		prev = nil // what a store keeps of a session in memory is fixed at its start
	}
	if prev != nil && prev.cfg.SessionStore == cfg.SessionStore &&
		reflect.DeepEqual(prev.cfg.Cookie, cfg.Cookie) && sameRedis(prev.cfg.Redis, cfg.Redis) {
		gen.store, gen.conn = prev.store, prev.conn
		return nil
	}
	if rs, ok := storeOf(prev).(*session.RedisStore); ok && cfg.SessionStore == "redis" &&
		sameRedis(prev.cfg.Redis, cfg.Redis) {
		s, err := rs.WithCookie(cfg.Cookie)
		if err != nil {
			return err
		}
		gen.store, gen.conn = s, prev.conn
		return nil
	}
	s, err := newStore(cfg, g.registry, g.logger)
	if err != nil {
		return err
	}
	gen.store, gen.conn = s, s
	if cfg.SessionStore == "redis" {
		g.activeGauge.Do(func() {
			// Counted through the live store, whatever reloads replaced.
			g.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Namespace: "portcullis", Name: "active_sessions",
				Help: "Sessions in the Redis store (counted with SCAN, at most every 15 s).",
			}, func() float64 {
				if rs, ok := storeOf(g.current()).(*session.RedisStore); ok {
					return rs.CountActive()
				}
				return 0
			}))
		})
	}
	return nil
}

// sameRedis reports whether two Redis settings would open the same
// connection: the CA pools, loaded anew by each configuration load, are
// compared by their certificates.
func sameRedis(a, b session.RedisConfig) bool {
	if !a.RootCAs.Equal(b.RootCAs) {
		return false
	}
	a.RootCAs, b.RootCAs = nil, nil
	return reflect.DeepEqual(a, b)
}

func storeOf(gen *generation) session.Store {
	if gen == nil {
		return nil
	}
	return gen.store
}

func buildInfo() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "portcullis", Name: "build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "commit", "goversion"})
	g.WithLabelValues(version, commit, runtime.Version()).Set(1)
	return g
}

// close releases the session store's connections and flushes the spans
// not yet exported.
func (g *gateway) close() {
	closeStore(g.current().conn)
	if g.tracer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.tracer.Shutdown(ctx); err != nil {
			g.logger.Warn("tracing: flushing spans failed", "err", err)
		}
	}
}

func closeStore(s session.Store) {
	if c, ok := s.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// servers are the bound listeners of one gateway.
type servers struct {
	gw, ops     *http.Server
	gwLn, opsLn net.Listener
	certs       *certReloader // nil without TLS
}

func (s *servers) gatewayAddr() string { return s.gwLn.Addr().String() }

func (s *servers) opsAddr() string {
	if s.opsLn == nil {
		return ""
	}
	return s.opsLn.Addr().String()
}

// listenError names the [server] key whose address could not be bound:
// an operator whose port is taken learns which setting to change.
func listenError(key, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("[server] %s = %q: %w: another process listens there; stop it or change %s", key, addr, err, key)
	}
	return fmt.Errorf("[server] %s = %q: %w", key, addr, err)
}

// listen binds the gateway listener (or uses gwLn when given) and the ops listener.
func (g *gateway) listen(gwLn net.Listener) (*servers, error) {
	var err error
	cfg := g.current().cfg
	if gwLn == nil {
		if gwLn, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, listenError("listen", cfg.Listen, err)
		}
	}
	s := &servers{gwLn: gwLn, gw: &http.Server{
		Handler:           g.upgrades.wrap(g),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// proxy answers 431 past 32 KiB itself; this is the hard stop.
		MaxHeaderBytes: 64 << 10,
		// Over HTTP/2 (TLS) a connection holds at most 100 requests at
		// once, as nginx's 128, instead of Go's 250: about 12 KiB each
		// while a slow client parks them (28 KiB with a body that does
		// not come, for the 30 s of the pre-read).
		HTTP2:    &http.HTTP2Config{MaxConcurrentStreams: 100},
		ErrorLog: log.New(serverErrorLog{g.logger.Handler()}, "", 0),
	}}
	if cfg.MaxConnections > 0 {
		lim := limitConns(gwLn, cfg.MaxConnections, g.logger)
		s.gwLn, s.gw.ConnState = lim, lim.connState
	}
	if cfg.TLSCertFile != "" {
		if s.certs, err = newCertReloader(cfg.TLSCertFile, cfg.TLSKeyFile, g.logger); err != nil {
			gwLn.Close()
			return nil, err
		}
		s.gw.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certs.GetCertificate}
	}
	if cfg.OpsListen != "" {
		if s.opsLn, err = net.Listen("tcp", cfg.OpsListen); err != nil {
			gwLn.Close()
			return nil, listenError("ops_listen", cfg.OpsListen, err)
		}
		// The ops requests carry no bodies: a whole request gets 30 s (no
		// WriteTimeout: /debug/pprof/profile streams for as long as asked).
		s.ops = &http.Server{Handler: g.opsHandler(), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	}
	return s, nil
}

// run serves until ctx ends, reloading the configuration and the TLS
// certificate on SIGHUP (and the certificate when its files change). Then it
// shuts down (see shutdown) and returns.
func (g *gateway) run(ctx context.Context, s *servers) error {
	errc := make(chan error, 2)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go g.discover(ctx)
	if s.certs != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go s.certs.watch(wctx, certPollInterval)
	}
	go func() { errc <- g.serveGateway(s) }()
	if s.ops != nil {
		go func() { errc <- s.ops.Serve(s.opsLn) }()
	}
	for {
		select {
		case err := <-errc:
			if !errors.Is(err, http.ErrServerClosed) {
				return err
			}
		case <-hup:
			g.reloadOnSignal(ctx)
			if s.certs != nil {
				go s.certs.reload("SIGHUP")
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	g.shutdown(s)
	return nil
}

// shutdown turns /readyz (and {prefix}/healthz) not ready at once, keeps
// serving for the shutdown delay, so that Kubernetes removes the pod from
// its endpoints and load balancers stop sending before the listener closes
// (no preStop sleep is needed), then drains: http.Server.Shutdown closes the
// listeners and waits for in-flight requests; upgraded connections
// (WebSockets), which it does not track, get what is left of the shutdown
// timeout and are closed when it ends. A second SIGINT or SIGTERM during
// the delay cuts it short.
func (g *gateway) shutdown(s *servers) {
	g.draining.Store(true)
	cfg := g.current().cfg
	delay, timeout := cfg.ShutdownDelay, cfg.ShutdownTimeout
	g.logger.Info("shutting down: not ready; serving on for the shutdown delay, then draining",
		"delay", delay.String(), "timeout", timeout.String())
	if delay > 0 {
		again := make(chan os.Signal, 1)
		signal.Notify(again, syscall.SIGINT, syscall.SIGTERM)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-again:
			g.logger.Info("second signal: cutting the shutdown delay short")
		}
		t.Stop()
		signal.Stop(again)
	}
	g.logger.Info("draining", "timeout", timeout.String())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.gw.Shutdown(ctx); err != nil {
		g.logger.Warn("shutdown timeout reached; closing the remaining connections", "err", err)
		s.gw.Close()
	}
	if n := g.upgrades.drain(ctx); n > 0 {
		g.logger.Warn("shutdown timeout reached; closed upgraded connections", "count", n)
	}
	if s.ops != nil {
		s.ops.Close()
	}
	g.logger.Info("shut down")
}

func (g *gateway) serveGateway(s *servers) error {
	if s.certs == nil {
		return s.gw.Serve(s.gwLn)
	}
	// The certificate comes from TLSConfig.GetCertificate.
	return s.gw.ServeTLS(s.gwLn, "", "")
}

// discover loads provider metadata, retrying with capped exponential backoff
// so that a provider outage at start does not crash-loop the pod.
func (g *gateway) discover(ctx context.Context) {
	backoff := time.Second
	for {
		provider := g.current().provider
		if provider.Ready() {
			return
		}
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := provider.Discover(dctx)
		cancel()
		if err == nil {
			g.logger.Info("provider metadata loaded", "issuer", provider.Issuer())
			return
		}
		if ctx.Err() != nil {
			return
		}
		g.logger.Warn("provider discovery failed; retrying", "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// upgradeTracker follows the requests that upgrade their connection
// (WebSockets): http.Server.Shutdown neither waits for nor closes hijacked
// connections. Requests without an Upgrade header pass straight through.
type upgradeTracker struct {
	mu     sync.Mutex
	active int                   // upgrade requests being served
	conns  map[net.Conn]struct{} // their hijacked connections
}

// wrap returns h with upgrade requests tracked.
func (t *upgradeTracker) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			h.ServeHTTP(w, r)
			return
		}
		t.mu.Lock()
		t.active++
		t.mu.Unlock()
		hw := &hijackWriter{ResponseWriter: w, t: t}
		defer func() {
			t.mu.Lock()
			t.active--
			if hw.conn != nil {
				delete(t.conns, hw.conn)
			}
			t.mu.Unlock()
		}()
		// The reverse proxy copies an upgraded connection inside ServeHTTP,
		// so this returns when the WebSocket ends.
		h.ServeHTTP(hw, r)
	})
}

// drain waits until no upgrade request is being served or ctx ends; then it
// closes the connections still open and returns how many it closed.
func (t *upgradeTracker) drain(ctx context.Context) int {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		n := t.active
		t.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-tick.C:
			continue
		case <-ctx.Done():
		}
		break
	}
	t.mu.Lock()
	closed := len(t.conns)
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	return closed
}

// hijackWriter records the connection its request hijacks.
type hijackWriter struct {
	http.ResponseWriter
	t    *upgradeTracker
	conn net.Conn
}

// Hijack hijacks the underlying connection and tracks it.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.t.mu.Lock()
	if w.t.conns == nil {
		w.t.conns = make(map[net.Conn]struct{})
	}
	w.t.conns[c] = struct{}{}
	w.conn = c
	w.t.mu.Unlock()
	return c, brw, nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
