package main

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLibraryRepeatsBounded: a library line repeated within the window is
// written once; the first copy after it carries how many were left out;
// other texts are written meanwhile; many distinct texts are all written
// and the texts remembered stay bounded.
func TestLibraryRepeatsBounded(t *testing.T) {
	var logs syncBuffer
	w := newRepeatLimit(slog.NewTextHandler(&logs, nil))
	now := time.Unix(1e9, 0)
	w.now = func() time.Time { return now }
	w.after = func(time.Duration, func()) {} // the flushes: TestLibraryRepeatIsNotLost
	dial := "redis: connection pool: failed to dial after 2 attempts: connection refused\n"
	for range 5 {
		_, _ = w.Write([]byte(dial))
	}
	_, _ = w.Write([]byte("redis: another complaint\n"))
	if got := strings.Count(logs.String(), "failed to dial"); got != 1 {
		t.Fatalf("5 copies in the window: %d lines, want 1\n%s", got, logs.String())
	}
	if !strings.Contains(logs.String(), "another complaint") {
		t.Errorf("another text in the window was not written\n%s", logs.String())
	}
	now = now.Add(libraryRepeatWindow)
	_, _ = w.Write([]byte(dial))
	if !strings.Contains(logs.String(), "failed to dial after 2 attempts: connection refused\" repeated=4") {
		t.Errorf("the copy after the window does not count the 4 left out\n%s", logs.String())
	}
	mark := len(logs.String())
	for i := range 3 * libraryRepeatTexts {
		_, _ = fmt.Fprintf(w, "distinct %d\n", i)
	}
	if got := strings.Count(logs.String()[mark:], "distinct "); got != 3*libraryRepeatTexts {
		t.Errorf("%d distinct texts: %d written", 3*libraryRepeatTexts, got)
	}
	if len(w.seen) > libraryRepeatTexts {
		t.Errorf("%d texts remembered, want at most %d", len(w.seen), libraryRepeatTexts)
	}
}

// TestLibraryRepeatIsNotLost: a copy left out is written when its window
// ends even if none follows, with the count. Before, it waited for a next
// copy that might never come: go-redis's `sentinel: new master=... addr=A`
// after a failover to B and back to A within 10 s was never written (the
// log said the master was B), nor were an outage's last copies counted.
func TestLibraryRepeatIsNotLost(t *testing.T) {
	var logs syncBuffer
	w := newRepeatLimit(slog.NewTextHandler(&logs, nil))
	now := time.Unix(1e9, 0)
	w.now = func() time.Time { return now }
	var pending []func()
	w.after = func(d time.Duration, f func()) {
		if d <= 0 || d > libraryRepeatWindow {
			t.Errorf("flush scheduled in %v, want within the window", d)
		}
		pending = append(pending, f)
	}
	toA := `redis: sentinel: new master="mymaster" addr="10.0.0.1:6379"` + "\n"
	toB := `redis: sentinel: new master="mymaster" addr="10.0.0.2:6379"` + "\n"
	for _, line := range []string{toA, toB, toA} {
		_, _ = w.Write([]byte(line))
		now = now.Add(time.Second)
	}
	now = now.Add(libraryRepeatWindow)
	for _, f := range pending {
		f()
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `addr=\"10.0.0.1:6379\"" repeated=1`) {
		t.Errorf("failover to A, B and back to A: the last line is not A's, counted\n%s", logs.String())
	}
	pending = nil
	_, _ = w.Write([]byte(toA))
	now = now.Add(libraryRepeatWindow)
	for _, f := range pending {
		f()
	}
	if got := strings.Count(logs.String(), "10.0.0.1"); got != 3 {
		t.Errorf("A again after its window: %d lines name it, want 3\n%s", got, logs.String())
	}
}
