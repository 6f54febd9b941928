package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/session"
)

func newRedisStore(cfg *config.Config, reg prometheus.Registerer, logger *slog.Logger) (session.Store, error) {
	return nil, errors.New("redis store: not wired yet")
}

func runSessions(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	return usageError("sessions: not wired yet")
}
