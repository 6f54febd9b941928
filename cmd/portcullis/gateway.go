package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/proxy"
	"github.com/portcullis/portcullis/session"
)

// gateway is one running Portcullis: the wired handler and what it needs to
// report readiness and shut down.
type gateway struct {
	cfg      *config.Config
	logger   *slog.Logger
	registry *prometheus.Registry
	provider *idp.Client
	store    session.Store
	handler  http.Handler
	draining atomic.Bool
}

// buildGateway wires the packages together. It does no network I/O: provider
// discovery happens in run, so serve starts even when the provider is down.
func buildGateway(cfg *config.Config, logger *slog.Logger) (*gateway, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(buildInfo())

	pcfg := cfg.Provider
	pcfg.Logger, pcfg.Metrics = logger, reg
	provider, err := idp.New(pcfg)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	store, err := newStore(cfg, reg, logger)
	if err != nil {
		return nil, err
	}
	states, err := session.NewStateCookies(cfg.Cookie)
	if err != nil {
		return nil, err
	}
	px := cfg.Proxy
	px.Provider, px.Sessions, px.LoginStates = provider, store, states
	px.Metrics, px.Logger = reg, logger
	h, err := proxy.New(px)
	if err != nil {
		return nil, err
	}
	return &gateway{cfg: cfg, logger: logger, registry: reg, provider: provider, store: store, handler: h}, nil
}

func buildInfo() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "portcullis", Name: "build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "commit", "goversion"})
	g.WithLabelValues(version, commit, runtime.Version()).Set(1)
	return g
}

// close releases the session store's connections.
func (g *gateway) close() {
	if c, ok := g.store.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// servers are the bound listeners of one gateway.
type servers struct {
	gw, ops     *http.Server
	gwLn, opsLn net.Listener
}

func (s *servers) gatewayAddr() string { return s.gwLn.Addr().String() }

func (s *servers) opsAddr() string {
	if s.opsLn == nil {
		return ""
	}
	return s.opsLn.Addr().String()
}

// listen binds the gateway listener (or uses gwLn when given) and the ops listener.
func (g *gateway) listen(gwLn net.Listener) (*servers, error) {
	var err error
	if gwLn == nil {
		if gwLn, err = net.Listen("tcp", g.cfg.Listen); err != nil {
			return nil, fmt.Errorf("listen %s: %w", g.cfg.Listen, err)
		}
	}
	s := &servers{gwLn: gwLn, gw: &http.Server{
		Handler:           g.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// proxy answers 431 past 32 KiB itself; this is the hard stop.
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug),
	}}
	if g.cfg.OpsListen != "" {
		if s.opsLn, err = net.Listen("tcp", g.cfg.OpsListen); err != nil {
			gwLn.Close()
			return nil, fmt.Errorf("listen %s: %w", g.cfg.OpsListen, err)
		}
		s.ops = &http.Server{Handler: g.opsHandler(), ReadHeaderTimeout: 10 * time.Second}
	}
	return s, nil
}

// run serves until ctx ends, then turns not ready, drains in-flight requests
// within the shutdown timeout and returns.
func (g *gateway) run(ctx context.Context, s *servers) error {
	errc := make(chan error, 2)
	go g.discover(ctx)
	go func() { errc <- g.serveGateway(s) }()
	if s.ops != nil {
		go func() { errc <- s.ops.Serve(s.opsLn) }()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	g.draining.Store(true)
	g.logger.Info("shutting down", "timeout", g.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
	defer cancel()
	err := s.gw.Shutdown(sctx)
	if s.ops != nil {
		s.ops.Close()
	}
	return err
}

func (g *gateway) serveGateway(s *servers) error {
	if g.cfg.TLSCertFile == "" {
		return s.gw.Serve(s.gwLn)
	}
	s.gw.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return s.gw.ServeTLS(s.gwLn, g.cfg.TLSCertFile, g.cfg.TLSKeyFile)
}

// discover loads provider metadata, retrying with capped exponential backoff
// so that a provider outage at start does not crash-loop the pod.
func (g *gateway) discover(ctx context.Context) {
	backoff := time.Second
	for !g.provider.Ready() {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := g.provider.Discover(dctx)
		cancel()
		if err == nil {
			g.logger.Info("provider metadata loaded", "issuer", g.provider.Issuer())
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
