package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/session"
)

// newStore builds the configured session store.
func newStore(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (session.Store, error) {
	opts := session.StoreOptions{Metrics: reg, Logger: logger, KeepAccessToken: keepAccessToken(cfg)}
	if cfg.SessionStore == "redis" {
		return session.NewRedisStore(cfg.Redis, cfg.Cookie, opts)
	}
	return session.NewCookieStore(cfg.Cookie, opts)
}

// keepAccessToken reports whether the store's opened-session cache keeps
// access tokens: when [headers] access_token sends one upstream on every
// request. Other readers of the tokens (refresh, sign-out, directory reads
// of groups) are rare and read them again from the cookie or Redis.
func keepAccessToken(cfg *config.Config) bool { return cfg.Proxy.Headers.AccessToken != "" }
