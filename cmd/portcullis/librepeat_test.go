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
