package main

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/internal/logattr"
)

// reloadDiscoveryTimeout bounds the discovery of a changed provider during a
// reload.
const reloadDiscoveryTimeout = 15 * time.Second

// reload loads the configuration file again (on SIGHUP). When it is valid it
// builds a new generation and swaps it in atomically: requests in flight
// finish on the old handler, new ones take the new one, and no connection
// is dropped. Sessions survive when the secrets that sealed them are still
// listed. When the file is invalid, or the new provider cannot be
// discovered, every problem is logged and the gateway keeps running on the
// old configuration. It reports whether the new configuration is live, and
// so do the reload metrics: a rejected reload is otherwise only a log line,
// and the gateway keeps enforcing rules the operator believes replaced.
func (g *gateway) reload(ctx context.Context) bool {
	g.reloadMu.Lock()
	defer g.reloadMu.Unlock()
	// From here on the file is read after any SIGHUP so far.
	g.reloadQueued.Store(false)
	ok := g.tryReload(ctx)
	g.reloads.record(ok, time.Now())
	return ok
}

// reloadOnSignal reloads in the background, on SIGHUP. While a reload
// runs (a new provider's discovery may take up to reloadDiscoveryTimeout),
// the SIGHUPs that arrive are folded into one reload that waits for it and
// then reads the file as it is: at most one reload runs and one waits,
// however many signals come, and the last file written is the one applied.
// Each SIGHUP's outcome is logged at debug level: the signal reaches this
// goroutine some time after kill(2) returns, and only the line tells a
// SIGHUP handled from one still on its way (which starts a reload of its
// own once the waiting one has begun).
func (g *gateway) reloadOnSignal(ctx context.Context) {
	if g.reloadQueued.Swap(true) {
		// The reload waiting will read the file after this signal.
		g.logger.Debug("SIGHUP: folded into the reload that waits")
		return
	}
	g.logger.Debug("SIGHUP: a reload will read the file")
	go g.reload(ctx)
}

// tryReload is reload's work, under reloadMu.
func (g *gateway) tryReload(ctx context.Context) bool {
	prev := g.current()
	path := prev.cfg.Path
	cfg, err := config.Load(path, g.env)
	var ps config.Problems
	if errors.As(err, &ps) {
		g.logRejected(path, ps)
		return false
	}
	if err != nil {
		g.logger.Error("config reload rejected; still running on the previous configuration", "path", path, logattr.Err(err))
		return false
	}
	if ps := g.upstreamsAtListeners(cfg); len(ps) > 0 {
		g.logRejected(path, ps)
		return false
	}
	for _, w := range cfg.Warnings {
		g.logger.Warn("config: " + w)
	}
	gen, err := g.build(cfg, prev)
	if err != nil {
		g.logger.Error("config reload rejected; still running on the previous configuration", "path", path, logattr.Err(err))
		return false
	}
	if gen.provider != prev.provider {
		dctx, cancel := context.WithTimeout(ctx, reloadDiscoveryTimeout)
		err := gen.provider.Discover(dctx)
		cancel()
		if err != nil {
			g.discard(prev, gen)
			g.logger.Error("config reload rejected: the new provider's discovery failed; still running on the previous configuration",
				"path", path, logattr.Err(err))
			return false
		}
	}
	g.cur.Store(gen)
	g.warnRestartNeeded(prev.cfg, cfg)
	g.retire(prev, gen)
	g.logger.Info("config reloaded", "path", path, "provider_changed", gen.provider != prev.provider,
		"store_changed", gen.store != prev.store, "store_reconnected", gen.conn != prev.conn)
	return true
}

// logRejected logs each problem of a rejected reload, then the rejection.
func (g *gateway) logRejected(path string, ps config.Problems) {
	for _, p := range ps {
		g.logger.Error("config reload: " + p.String())
	}
	g.logger.Error("config reload rejected; still running on the previous configuration",
		"path", path, "problems", len(ps))
}

// upstreamsAtListeners are the problems of the upstreams of cfg that reach
// the listeners still bound: the file's own check compares them with the
// file's listen and ops_listen, which a reload does not apply, so a file
// that moves ops_listen and names the old port as an upstream would serve
// /metrics and the profiler through a route.
func (g *gateway) upstreamsAtListeners(cfg *config.Config) config.Problems {
	b := g.bound.Load()
	if b == nil {
		return nil // not listening yet: nothing is bound to reach
	}
	return cfg.UpstreamsReaching(b.listen, b.ops)
}

// reloadMetrics are portcullis_config_last_reload_successful (1 or 0) and
// portcullis_config_last_reload_success_timestamp_seconds, as Prometheus
// names its own: the configuration loaded at start counts as a success.
type reloadMetrics struct {
	successful, successTime prometheus.Gauge
}

func newReloadMetrics(reg prometheus.Registerer, now time.Time) reloadMetrics {
	m := reloadMetrics{
		successful: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "portcullis",
			Name: "config_last_reload_successful",
			Help: "1 when the last configuration reload (SIGHUP) was applied, 0 when it was rejected and the previous configuration still runs."}),
		successTime: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "portcullis",
			Name: "config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last configuration load that was applied (the start, or a reload)."}),
	}
	reg.MustRegister(m.successful, m.successTime)
	m.record(true, now)
	return m
}

func (m reloadMetrics) record(ok bool, now time.Time) {
	if !ok {
		m.successful.Set(0)
		return
	}
	m.successful.Set(1)
	m.successTime.Set(float64(now.UnixNano()) / 1e9)
}

// retire releases what prev holds and gen, which replaced it, does not
// share: the upstreams' idle connections and a session store's connections.
// Requests in flight may still use them, so it waits until they have had
// the drain time (shutdown_timeout, and a second) to finish.
func (g *gateway) retire(prev, gen *generation) {
	time.AfterFunc(prev.cfg.ShutdownTimeout+time.Second, func() {
		prev.handler.CloseIdleConnections()
		if gen.conn != prev.conn {
			closeStore(prev.conn)
		}
	})
}

// discard releases what gen built and does not share with prev.
func (g *gateway) discard(prev, gen *generation) {
	if gen.conn != nil && (prev == nil || gen.conn != prev.conn) {
		closeStore(gen.conn)
	}
}

// warnRestartNeeded logs the settings that a reload cannot apply to
// running listeners and loggers.
func (g *gateway) warnRestartNeeded(old, cfg *config.Config) {
	for _, c := range []struct {
		key      string
		from, to string
	}{
		{"server.listen", old.Listen, cfg.Listen},
		{"server.ops_listen", old.OpsListen, cfg.OpsListen},
		{"server.tls_cert_file", old.TLSCertFile, cfg.TLSCertFile},
		{"server.tls_key_file", old.TLSKeyFile, cfg.TLSKeyFile},
		{"log.format", old.LogFormat, cfg.LogFormat},
		{"log.level", old.LogLevel, cfg.LogLevel},
		{"server.pprof", strconv.FormatBool(old.Pprof), strconv.FormatBool(cfg.Pprof)},
		{"server.max_connections", strconv.Itoa(old.MaxConnections), strconv.Itoa(cfg.MaxConnections)},
		{"server.upgrade_idle_timeout", old.UpgradeIdleTimeout.String(), cfg.UpgradeIdleTimeout.String()},
	} {
		if c.from != c.to {
			g.logger.Warn("config reload: "+c.key+" changed but needs a restart; not applied",
				"running", c.from, "file", c.to)
		}
	}
}
