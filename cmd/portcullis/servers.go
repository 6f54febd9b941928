package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
)

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

// gatewayProtocols are HTTP/1.1, HTTP/2 over TLS and HTTP/2 in cleartext
// with prior knowledge (h2c, RFC 9113 §3.3), which a TLS-terminating load
// balancer or ingress-nginx's GRPC backend speaks for gRPC. Each stream is
// a request decided on its own, as over TLS; the h2c Upgrade of an
// HTTP/1.1 request, a tunnel, is not served (Go's server has none) and the
// proxy refuses to pass it on.
// opsMaxConnections bounds the ops listener's connections as
// server.max_connections bounds the gateway's: probes, scrapers and an
// operator's pprof need a few, and without a bound whoever reaches the
// listener held a goroutine, its buffers and a file descriptor (the
// gateway's own, which its upstreams and provider need) per connection.
const opsMaxConnections = 64

// opsWriteTimeout bounds the writing of each ops answer, as the gateway's
// writes are bounded (60 s, nginx's send_timeout): a client that asked for
// /metrics or a profile and read nothing, once the socket buffers were
// full, held its connection serving for ever, and the bound's worth of them
// refused every probe. A profile or trace of ?seconds=N gets N more
// (net/http/pprof adds them to the server's WriteTimeout). A variable for
// the tests.
var opsWriteTimeout = 60 * time.Second

func gatewayProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return p
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
	g.upgrades.limit(cfg.MaxConnections, cfg.UpgradeIdleTimeout, g.logger)
	s := &servers{gwLn: gwLn, gw: &http.Server{
		Protocols:         gatewayProtocols(),
		Handler:           g.upgrades.wrap(g),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// proxy answers 431 past 32 KiB itself; this is the hard stop.
		MaxHeaderBytes: 64 << 10,
		// Over HTTP/2 (TLS or h2c) a connection holds at most 100 requests at
		// once, as nginx's 128, instead of Go's 250: about 12 KiB each
		// while a slow client parks them (28 KiB with a body that does
		// not come, for the 30 s of the pre-read).
		HTTP2:    &http.HTTP2Config{MaxConcurrentStreams: 100},
		ErrorLog: log.New(serverErrorLog{g.logger.Handler()}, "", 0),
	}}
	if cfg.MaxConnections > 0 {
		lim := limitConns(gwLn, cfg.MaxConnections, "server.max_connections", g.logger)
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
		// The ops requests carry no bodies: a whole request gets 30 s, its
		// answer opsWriteTimeout.
		s.ops = &http.Server{Handler: g.opsHandler(), ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout: 30 * time.Second, WriteTimeout: opsWriteTimeout, IdleTimeout: 120 * time.Second,
			MaxHeaderBytes: 64 << 10}
		lim := limitConns(s.opsLn, opsMaxConnections, "the ops listener's bound", g.logger)
		s.opsLn, s.ops.ConnState = lim, lim.connState
	}
	g.bound.Store(newBoundListeners(gwLn, s.opsLn))
	return s, nil
}

// run serves until ctx ends, reloading the configuration and the TLS
// certificate on SIGHUP (and the certificate when its files change). Then it
// shuts down (see shutdown) and returns.
func (g *gateway) run(ctx context.Context, s *servers) error {
	errc := make(chan error, 2)
	// serve's channel stays registered until serve returns: a SIGHUP while
	// the process flushes its spans and closes its store after run would
	// otherwise end it.
	hup := g.hangups
	if hup == nil {
		hup = make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
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

// settleLimit bounds the wait, after the shutdown timeout, for the handlers
// of the requests it cut: each returns once its connection is closed.
const settleLimit = time.Second

// shutdown turns /readyz (and {prefix}/healthz) not ready at once, keeps
// serving for the shutdown delay, so that Kubernetes removes the pod from
// its endpoints and load balancers stop sending before the listener closes
// (no preStop sleep is needed), then drains: http.Server.Shutdown closes the
// listeners and waits for in-flight requests; upgraded connections
// (WebSockets), which it does not track, get what is left of the shutdown
// timeout and are closed when it ends; the requests cut then are given
// settleLimit to log their lines. A second SIGINT or SIGTERM during
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
		g.logger.Warn("shutdown timeout reached; closing the remaining connections", logattr.Err(err))
		s.gw.Close()
	}
	if n := g.upgrades.drain(ctx); n > 0 {
		g.logger.Warn("shutdown timeout reached; closed upgraded connections", "count", n)
	}
	if !g.upgrades.settle(settleLimit) {
		g.logger.Warn("requests still running after their connections closed; exiting without their log lines",
			"count", g.upgrades.serving.Load())
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
