package main

import (
	"log/slog"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/session"
)

// newStore builds the configured session store.
func newStore(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (session.Store, error) {
	opts := session.StoreOptions{Metrics: reg, Logger: logger,
		KeepAccessToken: keepAccessToken(cfg), KeepClaims: residentClaims(cfg), NoActiveGauge: true}
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

// residentClaims are the claim paths a request reads ([headers.claims] and
// every route's require_claims): the only claims the store's opened-session
// cache keeps. Sessions' other claims stay in the cookie or Redis.
func residentClaims(cfg *config.Config) []string {
	paths := slices.Clone(cfg.Provider.HeaderClaims)
	for _, r := range cfg.Routes {
		for path := range r.RequireClaims {
			paths = append(paths, path)
		}
	}
	slices.Sort(paths)
	return append([]string{}, slices.Compact(paths)...)
}

// sameResident reports whether stores built for a and b keep the same
// parts of a session in memory, so that one can serve the other.
func sameResident(a, b *config.Config) bool {
	return keepAccessToken(a) == keepAccessToken(b) && slices.Equal(residentClaims(a), residentClaims(b))
}
