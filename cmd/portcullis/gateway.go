package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
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
	// hangups, when set, is the SIGHUP channel serve registered at its
	// start; run reloads for a signal that waits in it.
	hangups chan os.Signal
	// discoveryErr is why the last discovery at start failed (nil once one
	// succeeded), which /readyz shows after "provider metadata not loaded":
	// a provider that lists an unusable jwks_uri, say, is then named there
	// with what to fix, not only in the log.
	discoveryErr atomic.Pointer[string]
	upgrades     upgradeTracker
	activeGauge  sync.Once // portcullis_active_sessions, once a Redis store exists
	reloads      reloadMetrics
	memoryShare  float64                        // of the container's memory limit for GOMEMLIMIT; 0 = set none
	bound        atomic.Pointer[boundListeners] // nil until listen
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
	if gen.states, err = g.buildStates(cfg, prev); err != nil {
		g.discard(prev, gen)
		return nil, err
	}
	px := cfg.Proxy
	px.Provider, px.Sessions, px.LoginStates = gen.provider, gen.store, gen.states
	px.Metrics, px.Logger = g.registry, g.logger
	px.ShuttingDown = g.draining.Load
	px.Live = g.liveHandler
	px.OwnListener = g.ownListener
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

// buildStates gives cfg's login-state jar: prev's when its settings are
// unchanged, else a new one that still refuses the states prev's accepted
// (StateCookies.WithCookie).
func (g *gateway) buildStates(cfg *config.Config, prev *generation) (*session.StateCookies, error) {
	switch {
	case prev == nil:
		return session.NewStateCookies(loginStateCookie(cfg))
	case reflect.DeepEqual(loginStateCookie(prev.cfg), loginStateCookie(cfg)):
		return prev.states, nil
	default:
		return prev.states.WithCookie(loginStateCookie(cfg))
	}
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
	if rs, ok := s.(*session.RedisStore); ok {
		g.registerActiveGauge()
		go g.warnIfEvicting(rs)
	}
	return nil
}

// registerActiveGauge registers portcullis_active_sessions once, counted
// through the live store, whatever reloads replaced.
func (g *gateway) registerActiveGauge() {
	g.activeGauge.Do(func() {
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

// warnIfEvicting logs an error when the Redis a new store connected to
// evicts keys: it drops the index sets and logout markers first, and a
// back-channel logout or `sessions revoke --sub` then ends nothing while
// it reports success. /readyz says so too, but a gateway run without a
// readiness probe showed it nowhere. It runs beside the start (or reload),
// which a Redis that is down must not hold up; a Redis that cannot be
// asked is /readyz's to report.
func (g *gateway) warnIfEvicting(rs *session.RedisStore) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rs.Ping(ctx); errors.Is(err, session.ErrEvicting) {
		g.logger.Error("session store evicts keys: set Redis maxmemory-policy noeviction (or no maxmemory); "+
			"until then a back-channel logout or sessions revoke --sub may end nothing, and /readyz is not ready", logattr.Err(err))
	}
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
			g.logger.Warn("tracing: flushing spans failed", logattr.Err(err))
		}
	}
}

func closeStore(s session.Store) {
	if c, ok := s.(interface{ Close() error }); ok {
		_ = c.Close()
	}
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
			g.discoveryErr.Store(nil)
			g.logger.Info("provider metadata loaded", "issuer", provider.Issuer())
			return
		}
		if ctx.Err() != nil {
			return
		}
		// Cut, and without any control character (logattr.Text): /readyz
		// is read on terminals, and the text may quote the provider.
		why := logattr.Text(err.Error(), logattr.MaxCause)
		g.discoveryErr.Store(&why)
		g.logger.Warn("provider discovery failed; retrying", logattr.Err(err), "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}
