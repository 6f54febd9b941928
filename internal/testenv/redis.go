package testenv

import (
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// StartRedis runs a throw-away redis-server on a free loopback port until
// the test ends, keeping nothing on disk (no RDB snapshots, no append-only
// file), and returns its address and process. extra arguments follow those
// on the command line (e.g. "--maxmemory-policy", "volatile-lru").
func StartRedis(tb testing.TB, extra ...string) (string, *Process) {
	tb.Helper()
	port := FreePort(tb)
	return Addr(port), RunRedis(tb, port, append([]string{"--appendonly", "no"}, extra...)...)
}

// RunRedis runs redis-server on 127.0.0.1:port with no RDB snapshots and
// args after that, until the test ends, and waits until it accepts
// connections. Tests that restart a server on the same port, or keep an
// append-only file, call it with their own "--dir" and "--appendonly".
func RunRedis(tb testing.TB, port int, args ...string) *Process {
	tb.Helper()
	bin := LookPath(tb, "redis-server")
	base := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", ""}
	p := Start(tb, exec.Command(bin, append(base, args...)...))
	WaitTCP(tb, Addr(port), 10*time.Second, p)
	return p
}
