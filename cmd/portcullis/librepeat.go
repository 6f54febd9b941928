package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
)

// Bounds of the library lines' repeat filter.
const (
	libraryRepeatWindow = 10 * time.Second // a text is written at most once per window
	libraryRepeatTexts  = 64               // texts remembered at once
)

// repeatLimit is the output of a library's *log.Logger (go-redis's, Go's
// standard logger): each write one line of h at warn, its text shown by
// logattr.Line (go-redis quotes what Redis or a Sentinel answered, whole),
// with a bound on repeats: a library line whose
// text was written less than libraryRepeatWindow ago is counted, not
// written, and the next copy written after the window carries the count
// as `repeated`. go-redis complains once per attempt and a request makes
// several (an unreachable Redis: four `failed to dial` lines per request,
// each the same): under an outage the log grew four lines per request
// for as long as it lasted. The texts remembered are bounded.
type repeatLimit struct {
	h    slog.Handler
	mu   sync.Mutex
	seen map[string]*repeatCount
	now  func() time.Time
}

type repeatCount struct {
	at      time.Time
	skipped int
}

func newRepeatLimit(h slog.Handler) *repeatLimit {
	return &repeatLimit{h: h, seen: make(map[string]*repeatCount), now: time.Now}
}

func (w *repeatLimit) Write(p []byte) (int, error) {
	msg := logattr.Line(p)
	skipped, write := w.admit(msg)
	if !write {
		return len(p), nil
	}
	ctx, level := context.Background(), slog.LevelWarn
	if w.h.Enabled(ctx, level) {
		r := slog.NewRecord(w.now(), level, msg, 0)
		if skipped > 0 {
			r.AddAttrs(slog.Int("repeated", skipped))
		}
		_ = w.h.Handle(ctx, r)
	}
	return len(p), nil
}

// admit reports whether msg is written now, and how many copies of it
// were left out since it last was.
func (w *repeatLimit) admit(msg string) (skipped int, write bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	c, ok := w.seen[msg]
	if ok && now.Sub(c.at) < libraryRepeatWindow {
		c.skipped++
		return 0, false
	}
	if !ok {
		if len(w.seen) >= libraryRepeatTexts {
			w.forgetOld(now)
		}
		c = &repeatCount{}
		w.seen[msg] = c
	}
	skipped, c.at, c.skipped = c.skipped, now, 0
	return skipped, true
}

// forgetOld drops the texts past their window, or all of them when none
// is: a burst of distinct texts is then written as it comes.
func (w *repeatLimit) forgetOld(now time.Time) {
	for m, c := range w.seen {
		if now.Sub(c.at) >= libraryRepeatWindow {
			delete(w.seen, m)
		}
	}
	if len(w.seen) >= libraryRepeatTexts {
		clear(w.seen)
	}
}
