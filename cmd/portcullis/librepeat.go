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
// for as long as it lasted. A copy left out is not lost when none
// follows: at the end of its window the text is written with its count
// (flush), or a failover to another Sentinel master and back within the
// window would leave the log naming the wrong one. The texts remembered
// are bounded.
type repeatLimit struct {
	h     slog.Handler
	mu    sync.Mutex
	seen  map[string]*repeatCount
	now   func() time.Time
	after func(time.Duration, func())
}

type repeatCount struct {
	at       time.Time
	skipped  int
	flushing bool // a flush of the copies left out is scheduled
}

func newRepeatLimit(h slog.Handler) *repeatLimit {
	return &repeatLimit{h: h, seen: make(map[string]*repeatCount), now: time.Now,
		after: func(d time.Duration, f func()) { time.AfterFunc(d, f) }}
}

func (w *repeatLimit) Write(p []byte) (int, error) {
	msg := logattr.Line(p)
	if skipped, write := w.admit(msg); write {
		w.write(msg, skipped)
	}
	return len(p), nil
}

// write hands h the line of msg, with the count of copies left out.
func (w *repeatLimit) write(msg string, skipped int) {
	ctx, level := context.Background(), slog.LevelWarn
	if w.h.Enabled(ctx, level) {
		r := slog.NewRecord(w.now(), level, msg, 0)
		if skipped > 0 {
			r.AddAttrs(slog.Int("repeated", skipped))
		}
		_ = w.h.Handle(ctx, r)
	}
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
		if !c.flushing {
			c.flushing = true
			w.after(c.at.Add(libraryRepeatWindow).Sub(now), func() { w.flush(msg, c) })
		}
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

// flush writes the copies of msg left out, once its window has ended,
// unless a copy written since counted them. c may have been forgotten
// meanwhile (forgetOld): its count is written all the same.
func (w *repeatLimit) flush(msg string, c *repeatCount) {
	w.mu.Lock()
	now := w.now()
	if wait := c.at.Add(libraryRepeatWindow).Sub(now); c.skipped > 0 && wait > 0 {
		w.mu.Unlock()
		w.after(wait, func() { w.flush(msg, c) })
		return
	}
	skipped := c.skipped
	c.flushing = false
	if skipped > 0 {
		c.at, c.skipped = now, 0
	}
	w.mu.Unlock()
	if skipped > 0 {
		w.write(msg, skipped)
	}
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
