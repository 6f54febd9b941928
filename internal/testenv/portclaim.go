package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// claimPort takes, until tb ends, an exclusive lock on a file named by
// port, which every test process of this repository on the machine takes
// before it hands a port out: `go test ./...` runs several packages' test
// binaries at once (e2e beside cmd/portcullis), each with a handedOut of
// its own, and a port one picked could be bound by the other between
// FreePort's check and the server's own bind ("address already in use").
// The lock is the kernel's (flock), so a process that dies releases it.
// It reports false when another process holds port. When the directory
// cannot be used (another user's), it claims nothing and leaves the port
// to the check FreePort makes anyway.
func claimPort(tb testing.TB, port int) bool {
	dir := filepath.Join(os.TempDir(), "portcullis-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	// Closing the file releases the lock: the test's servers have been
	// stopped by then (their cleanups, registered later, run first).
	tb.Cleanup(func() { f.Close() })
	return true
}
