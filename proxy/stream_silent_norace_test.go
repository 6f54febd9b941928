//go:build !race

package proxy

import (
	"io"
	"strings"
	"testing"
)

// Without the race detector, which makes sync.Pool drop a quarter of what
// is put back: under it the pool's misses made this count flaky.
// TestQuietWatchLendsTimers: an answer of unknown length is common (a Go
// upstream sends any answer over 2 KiB without a Content-Length), and a
// timer made for each cost two allocations per request; the watch borrows
// one from a pool and gives it back when the answer closes.
func TestQuietWatchLendsTimers(t *testing.T) {
	s := &identityStream{h: &Handler{}, ReadCloser: io.NopCloser(strings.NewReader(""))}
	allocs := testing.AllocsPerRun(200, func() {
		s.q.on, s.q.gone = false, false
		s.watchQuiet()
		if s.q.timer == nil || s.q.timer.s.Load() != s {
			t.Fatal("the watch holds no timer lent to its stream")
		}
		_ = s.Close()
		if s.q.timer != nil {
			t.Fatal("the timer was not given back at Close")
		}
	})
	if allocs != 0 {
		t.Errorf("watching a quiet answer allocates %v times, want 0", allocs)
	}
}
