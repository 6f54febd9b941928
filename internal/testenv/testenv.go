// Package testenv helps tests find the real programs they run (redis-server,
// nginx, caddy, chromium, node) and start them on free loopback ports.
//
// A test that needs a program calls LookPath. When the program is missing the
// test is skipped, unless PORTCULLIS_REQUIRE_TOOLS=1 (set by the README's test
// command and therefore by CI), where a missing program fails the test.
package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
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

// Listener ports are picked below Linux's ephemeral range (32768-60999 by
// default), from which the kernel takes the local ports of outgoing
// connections and of ":0" listeners: a port picked there can be taken by
// another test's client connection between FreePort and the server's own
// bind, which fails that server with "address already in use".
const (
	portLow  = 20000
	portHigh = 32000
)

// handedOut remembers the ports FreePort returned in this process, so that
// two tests never get the same one.
var handedOut sync.Map

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago and
// that no other FreePort call of this test process returned, nor one of
// another test process on this machine whose test still runs.
func FreePort(tb testing.TB) int {
	tb.Helper()
	for range 1000 {
		port := portLow + rand.IntN(portHigh-portLow)
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		if !claimPort(tb, port) {
			continue
		}
		l, err := net.Listen("tcp", Addr(port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	tb.Fatalf("testenv: no free port in %d-%d", portLow, portHigh)
	return 0
}

// Addr returns "127.0.0.1:PORT".
func Addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
