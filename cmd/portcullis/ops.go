package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/portcullis/portcullis/session"
)

// opsHandler serves /metrics, /healthz and /readyz on the ops listener.
func (g *gateway) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if why := g.notReady(r.Context()); why != "" {
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	if g.current().cfg.Pprof {
		mountPprof(mux)
	}
	return mux
}

// storeRefusal is /readyz's reason for a failed ping: Redis's error code
// when it answered one, with the fix for a refused password, else
// unreachable.
func storeRefusal(err error) string {
	switch code := session.RedisRefusal(err); code {
	case "":
		return "session store unreachable"
	case "NOAUTH", "WRONGPASS":
		return "session store refuses the gateway (" + code + "): check [session] redis_username and redis_password"
	case "NOPERM":
		return "session store refuses the gateway (NOPERM): the Redis ACL user lacks a command or key permission"
	default:
		return "session store answers with an error (" + code + ")"
	}
}

// mountPprof serves Go's profiler under /debug/pprof/ ([server] pprof =
// true). It is only ever mounted on the ops listener.
func mountPprof(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}

// notReady says why the gateway should not get traffic, or "" when ready.
func (g *gateway) notReady(ctx context.Context) string {
	gen := g.current()
	switch {
	case g.draining.Load():
		return "shutting down"
	case !gen.provider.Ready():
		if why := g.discoveryErr.Load(); why != nil {
			return "provider metadata not loaded: " + *why
		}
		return "provider metadata not loaded"
	}
	if p, ok := gen.store.(interface{ Ping(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := p.Ping(ctx); errors.Is(err, session.ErrEvicting) {
			return "session store evicts keys: set Redis maxmemory-policy noeviction"
		} else if err != nil {
			return storeRefusal(err)
		}
	}
	return ""
}
