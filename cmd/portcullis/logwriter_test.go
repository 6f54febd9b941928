package main

import (
	"bytes"
	"crypto/tls"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLogWriterBuffersUntilFlushOrClose(t *testing.T) {
	var out syncBuffer
	l := newLogWriter(&out, time.Hour) // no periodic flush in this test
	l.Write([]byte("one\n"))
	if got := out.String(); got != "" {
		t.Fatalf("written before a flush: %q", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "one\n" {
		t.Fatalf("after Close: %q, want %q", got, "one\n")
	}
	if err := l.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
}

func TestLogWriterFlushesPeriodically(t *testing.T) {
	var out syncBuffer
	l := newLogWriter(&out, 5*time.Millisecond)
	defer l.Close()
	l.Write([]byte("line\n"))
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "line") {
		if time.Now().After(deadline) {
			t.Fatal("the buffered line was never flushed")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLogWriterConcurrentWritesStayWhole(t *testing.T) {
	var out syncBuffer
	l := newLogWriter(&out, time.Millisecond)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				l.Write([]byte("0123456789abcdef\n"))
			}
		}()
	}
	wg.Wait()
	l.Close()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4000 {
		t.Fatalf("%d lines, want 4000", len(lines))
	}
	for _, ln := range lines {
		if ln != "0123456789abcdef" {
			t.Fatalf("torn line %q", ln)
		}
	}
}

func TestLoggerFlushesWarningsAtOnce(t *testing.T) {
	var out syncBuffer
	lw := newLogWriter(&out, time.Hour)
	defer lw.Close()
	log := newLogger("text", "info", lw).With("component", "test")
	log.Info("routine")
	if got := out.String(); got != "" {
		t.Fatalf("an info line was written at once: %q", got)
	}
	log.Warn("trouble")
	got := out.String()
	if !strings.Contains(got, "msg=routine") || !strings.Contains(got, "msg=trouble") {
		t.Fatalf("after a warning the buffer was not written out: %q", got)
	}
}

// TestServerErrorLog: a handler panic reaches the log at error level (the
// default info level shows it); other server errors stay at debug.
func TestServerErrorLog(t *testing.T) {
	var buf bytes.Buffer
	w := serverErrorLog{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})}
	_, _ = w.Write([]byte("http: TLS handshake error from 10.0.0.1:5: EOF\n"))
	_, _ = w.Write([]byte("http: panic serving 10.0.0.1:5: boom\ngoroutine 7 [running]:\n"))
	out := buf.String()
	if strings.Contains(out, "handshake") || !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "panic serving") {
		t.Errorf("log:\n%s", out)
	}
}

// serverErrorLogServer is an HTTPS server (HTTP/2 and HTTP/1.1) whose
// ErrorLog is serverErrorLog over a text handler at level, writing to out.
func serverErrorLogServer(t *testing.T, h http.Handler, level slog.Level, out *syncBuffer) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(serverErrorLog{slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})}, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// waitForLog waits until out holds want, or fails.
func waitForLog(t *testing.T, out *syncBuffer, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log has no %q:\n%s", want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out.String()
}

// TestServerErrorLogClientTextIsNoPanic: a client cannot raise a server
// complaint to error level by putting the words of a panic report in what
// the complaint quotes (here an ALPN protocol name, which a failed TLS
// handshake's message quotes): a forged "panic" at error level, flushed
// at once, at will.
func TestServerErrorLogClientTextIsNoPanic(t *testing.T) {
	var out syncBuffer
	srv := serverErrorLogServer(t, http.NotFoundHandler(), slog.LevelDebug, &out)
	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{
		InsecureSkipVerify: true, NextProtos: []string{"http: panic serving 10.6.6.6:1: forged"}})
	if err == nil {
		conn.Close()
		t.Fatal("the handshake with an unknown protocol succeeded")
	}
	got := waitForLog(t, &out, "forged")
	if strings.Contains(got, "level=ERROR") || !strings.Contains(got, `level=DEBUG msg="http: TLS handshake error`) {
		t.Errorf("a client's ALPN name raised a handshake error to error level:\n%s", got)
	}
}

// TestServerErrorLogHTTP2Panic: a handler panic over HTTP/2, which
// net/http reports as "http2: panic serving ...", is logged at error level
// as the HTTP/1.1 one is; at debug it was hidden at the default level.
func TestServerErrorLogHTTP2Panic(t *testing.T) {
	var out syncBuffer
	srv := serverErrorLogServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom in a handler")
	}), slog.LevelInfo, &out)
	resp, err := srv.Client().Get(srv.URL)
	if err == nil {
		if resp.ProtoMajor != 2 {
			t.Fatalf("served over %s, want HTTP/2", resp.Proto)
		}
		resp.Body.Close()
	}
	got := waitForLog(t, &out, "boom in a handler")
	if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "http2: panic serving") {
		t.Errorf("log:\n%s", got)
	}
}
