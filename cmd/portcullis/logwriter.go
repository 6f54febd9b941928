package main

import (
	"bufio"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/redis/go-redis/v9"
)

// logFlushInterval is how long a log line may wait in logWriter's buffer.
const logFlushInterval = 200 * time.Millisecond

// logWriter buffers the process log so that the one line logged per
// request costs no write system call of its own: the buffer is written out
// when it fills, every logFlushInterval, and by Close, which serve calls on
// its way out (SIGTERM included), so no line is lost on shutdown.
type logWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// newLogWriter buffers w and starts the periodic flush.
func newLogWriter(w io.Writer, every time.Duration) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushEvery(every)
	return l
}

// Write buffers p; slog's handlers call it once per record.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}

// Close stops the periodic flush and writes out what is buffered. Writes
// after Close are still buffered and flushed by a later Flush.
func (l *logWriter) Close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
		<-l.done
	}
	return l.Flush()
}

func (l *logWriter) flushEvery(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			_ = l.Flush()
		}
	}
}

// urgentFlush writes out a logWriter's buffer after every record at warn
// or above, so that problems reach the operator at once; info lines (one
// per request) wait for the periodic flush.
type urgentFlush struct {
	slog.Handler
	w *logWriter
}

// Handle passes r on and flushes when it is a warning or worse.
func (h urgentFlush) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		_ = h.w.Flush()
	}
	return err
}

// WithAttrs keeps the flushing behaviour on derived handlers.
func (h urgentFlush) WithAttrs(as []slog.Attr) slog.Handler {
	return urgentFlush{h.Handler.WithAttrs(as), h.w}
}

// WithGroup keeps the flushing behaviour on derived handlers.
func (h urgentFlush) WithGroup(name string) slog.Handler {
	return urgentFlush{h.Handler.WithGroup(name), h.w}
}

// serverErrorLog is the gateway server's ErrorLog: a handler panic, which
// net/http recovers and reports as "http: panic serving ..." (HTTP/1.x) or
// "http2: panic serving ..." (HTTP/2), is logged at error level; the rest
// (TLS handshakes from scanners, clients that hang up) at debug. The text,
// which quotes what a client sent, is shown by logattr.Line.
type serverErrorLog struct{ h slog.Handler }

func (w serverErrorLog) Write(p []byte) (int, error) {
	msg := logattr.Line(p)
	level := slog.LevelDebug
	if isPanicReport(msg) {
		level = slog.LevelError
	}
	logLine(w.h, level, msg)
	return len(p), nil
}

// logLine hands h a record of msg at level, when h takes that level.
func logLine(h slog.Handler, level slog.Level, msg string) {
	ctx := context.Background()
	if h.Enabled(ctx, level) {
		_ = h.Handle(ctx, slog.NewRecord(time.Now(), level, msg, 0))
	}
}

// isPanicReport reports whether msg is net/http's report of a handler
// panic. Only the start of the message counts: the other complaints quote
// what a client sent (a TLS handshake error quotes its ALPN protocol
// names), and a client must not make one of them an error-level line.
func isPanicReport(msg string) bool {
	return strings.HasPrefix(msg, "http: panic serving ") || strings.HasPrefix(msg, "http2: panic serving ")
}

// libraryLogs hands the complaints that libraries write to standard error
// themselves to h at warn, for as long as serve runs: go-redis's (an
// unreachable Redis: one line per session read and per readiness probe)
// and those of Go's standard logger. Written as they come, they were bare
// "redis: 2006/01/02 15:04:05 pool.go:770: ..." lines outside [log] format
// (a JSON log pipeline cannot read them), level and buffering. A text
// repeated within libraryRepeatWindow is written once (repeatLimit). restore puts
// the process's loggers back as they were.
func libraryLogs(h slog.Handler) (restore func()) {
	out, flags, prefix := log.Writer(), log.Flags(), log.Prefix()
	log.SetOutput(newRepeatLimit(h))
	log.SetFlags(0)
	log.SetPrefix("")
	redis.SetLogger(redisLog{log.New(newRepeatLimit(h), "", 0)})
	return func() {
		log.SetOutput(out)
		log.SetFlags(flags)
		log.SetPrefix(prefix)
		redis.SetLogger(redisLog{log.Default()})
	}
}

// redisLog is go-redis's logger over a *log.Logger.
type redisLog struct{ l *log.Logger }

func (r redisLog) Printf(_ context.Context, format string, v ...any) { r.l.Printf(format, v...) }
