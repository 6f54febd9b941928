// Command portcullis is the Portcullis authorization gateway.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Before any secret is read: fail closed where the process cannot be kept from its neighbours.
	if err := noDump(); err != nil {
		os.Exit(exitCode(&exitError{code: 1, err: fmt.Errorf("cannot keep the process from other processes of its user (not dumpable, no core file): %w", err)}, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}
