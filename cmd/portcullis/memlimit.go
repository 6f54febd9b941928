package main

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/portcullis/portcullis/internal/logattr"
)

// defaultMemoryShare is the share of the container's memory limit that
// serve gives the Go runtime as its soft limit: the rest is for what the
// runtime does not count (the executable's pages) and for the kernel's own
// accounting of the container.
const defaultMemoryShare = 0.9

// memoryShare reads the share of the container's memory limit that serve
// gives the Go runtime as its soft limit (docs/operations.md, "Memory"):
// AUTOMEMLIMIT, default 0.9. It is 0 (set nothing) when the environment
// sets GOMEMLIMIT itself, which the runtime has applied, and when
// AUTOMEMLIMIT is "off". Anything else than "off" or a number in (0, 1]
// is an error, which serve and check refuse.
func memoryShare(env func(string) (string, bool)) (float64, error) {
	if v, _ := env("GOMEMLIMIT"); strings.TrimSpace(v) != "" {
		return 0, nil
	}
	v, ok := env("AUTOMEMLIMIT")
	if !ok {
		return defaultMemoryShare, nil
	}
	if v = strings.TrimSpace(v); v == "off" {
		return 0, nil
	}
	share, err := strconv.ParseFloat(v, 64)
	if err != nil || !(share > 0 && share <= 1) {
		return 0, fmt.Errorf("AUTOMEMLIMIT must be off or a number in (0, 1], the share of the container's memory limit the Go runtime may use; got %q", v)
	}
	return share, nil
}

// memoryLimit is share of the memory limit limitOf reads (the process's
// cgroup: memlimit.FromCgroup in production), or 0 when there is none to
// set. A limit that cannot be read is logged and leaves the runtime as it
// is: this is tuning, not a reason not to serve.
func memoryLimit(share float64, limitOf memlimit.Provider, log *slog.Logger) int64 {
	if share == 0 {
		return 0
	}
	limit, err := limitOf()
	switch {
	case errors.Is(err, memlimit.ErrNoLimit), errors.Is(err, memlimit.ErrNoCgroup),
		errors.Is(err, memlimit.ErrCgroupsNotSupported):
		return 0
	case err != nil:
		log.Warn("memory limit: the container's limit could not be read; set GOMEMLIMIT", logattr.Err(err))
		return 0
	case limit == 0 || limit >= 1<<62: // cgroup v1's "unlimited" is just under 2^63
		return 0
	}
	return int64(float64(limit) * share)
}

// applyMemoryLimit sets the runtime's soft memory limit to n bytes (nothing
// when n is 0) and says so in the log.
func applyMemoryLimit(n int64, log *slog.Logger) {
	if n <= 0 {
		return
	}
	debug.SetMemoryLimit(n)
	log.Info("memory limit set from the container's", "GOMEMLIMIT", n)
}
