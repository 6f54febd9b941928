package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/portcullis/portcullis/config"
)

// runServe is `portcullis serve --config FILE`.
func runServe(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := newCommand("serve", "--config FILE", "Runs the gateway.")
	path := fs.String("config", "", configUsage)
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	hangups := catchHangups()
	defer signal.Stop(hangups)
	cfg, err := loadConfig(*path, env, stderr)
	if err != nil {
		return err
	}
	logs := newLogWriter(stderr, logFlushInterval)
	defer logs.Close()
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, logs)
	defer libraryLogs(logger.Handler())()
	for _, w := range cfg.Warnings {
		logger.Warn("config: " + w)
	}
	g, err := buildGateway(cfg, logger, env)
	if err != nil {
		return err
	}
	defer g.close()
	g.hangups = hangups
	applyMemoryLimit(memoryLimit(g.memoryShare, memlimit.FromCgroup, logger), logger)
	srv, err := g.listen(nil)
	if err != nil {
		return err
	}
	logger.Info("portcullis serving", "listen", srv.gatewayAddr(), "ops", srv.opsAddr(), "public_url", cfg.Proxy.PublicURL.String())
	return g.run(ctx, srv)
}

// catchHangups catches SIGHUP from the start of serve to its end: a process
// that does not is ended by one, and a configuration tool may signal the
// process it just started, while it still reads its files, or one that is
// exiting. A SIGHUP caught before run
// waits in the channel, and run reloads for it once serving: the file may
// have changed after it was read.
func catchHangups() chan os.Signal {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	return c
}

// loadConfig resolves the config path (flag, else PORTCULLIS_CONFIG) and
// loads it; problems are printed one per line and give exit code 2.
func loadConfig(path string, env func(string) (string, bool), stderr io.Writer) (*config.Config, error) {
	if path == "" {
		path, _ = env("PORTCULLIS_CONFIG")
	}
	if path == "" {
		return nil, usageError("--config FILE (or PORTCULLIS_CONFIG) is required")
	}
	cfg, err := config.Load(path, env)
	var ps config.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			fmt.Fprintln(stderr, p.String())
		}
		return nil, &exitError{code: 2, err: fmt.Errorf("%s: %d problem(s)", path, len(ps))}
	}
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

// configUsage is the help of every command's --config flag.
const configUsage = "the configuration `FILE` (default: $PORTCULLIS_CONFIG)"

// newLogger builds the process logger; config validated format and level.
// Over a logWriter, warnings and errors are written out at once.
func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(level)))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if lw, ok := w.(*logWriter); ok {
		h = urgentFlush{h, lw}
	}
	return slog.New(h)
}
