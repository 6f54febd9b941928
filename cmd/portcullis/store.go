package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/session"
)

// newStore builds the configured session store.
func newStore(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (session.Store, error) {
	opts := session.StoreOptions{Metrics: reg, Logger: logger}
	if cfg.SessionStore == "redis" {
		return session.NewRedisStore(cfg.Redis, cfg.Cookie, opts)
	}
	return session.NewCookieStore(cfg.Cookie, opts)
}
