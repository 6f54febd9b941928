// Package testenv helps tests find the real programs they run (redis-server,
// nginx, caddy, chromium, node) and start them on free loopback ports.
//
// A test that needs a program calls LookPath. When the program is missing the
// test is skipped, unless PORTCULLIS_REQUIRE_TOOLS=1 (set by the README's test
// command and therefore by CI), where a missing program fails the test.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Required reports whether missing programs are failures rather than skips.
func Required() bool { return os.Getenv("PORTCULLIS_REQUIRE_TOOLS") == "1" }

// LookPath finds a program on PATH (or at an absolute path) or ends the test.
func LookPath(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if Required() {
		tb.Fatalf("testenv: %s not found and PORTCULLIS_REQUIRE_TOOLS=1: %v", name, err)
	}
	tb.Skipf("testenv: %s not found (set PORTCULLIS_REQUIRE_TOOLS=1 to fail instead)", name)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr returns "127.0.0.1:PORT".
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
