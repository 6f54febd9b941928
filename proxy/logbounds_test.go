package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/idp/directory"
)

// logLines returns the lines of out, in the text or JSON format, whose
// message is msg.
func logLines(out, msg string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " msg="+msg+" ") || strings.Contains(l, ` msg="`+msg+`" `) || strings.Contains(l, `"msg":"`+msg+`"`) {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestLogLinesBoundClientValues: every value of a log line that a client
// chooses is cut, so that a request makes a line of a few KiB at most.
// Unbounded, a 64 KiB request target of raw UTF-8 became a 190 KiB
// request line (the normalised path escapes each byte as %XX), which log
// shippers split (Docker at 16 KiB, journald at 48 KiB) or drop (Fluent
// Bit's tail past its buffer): a client could make its own line
// unreadable, and triple the log volume of what it sent. The cut is
// marked with "…".
func TestLogLinesBoundClientValues(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	long := strings.Repeat("é", 20000) // 40 KB raw, 120 KB escaped
	longSub := f.session()
	longSub.Identity.Subject = strings.Repeat("s", 5000)
	for _, c := range []struct {
		name, method, target, host string
		opts                       []reqOption
		msg                        string // the line to look at
	}{
		{"path", "GET", "/public/" + long, "", nil, "request"},
		{"method", strings.Repeat("M", 20000), "/public/x", "", nil, "request"},
		{"host", "GET", "/public/x", strings.Repeat("h", 20000), nil, "request"},
		{"user", "GET", "/app/x", "", []reqOption{withCookies(f.cookies(t, longSub))}, "request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(logs.String())
			opts := c.opts
			if c.host != "" {
				opts = append(opts, func(r *http.Request) { r.Host = c.host })
			}
			f.do(t, c.method, c.target, nil, opts...)
			lines := logLines(logs.String()[before:], c.msg)
			if len(lines) != 1 {
				t.Fatalf("%d %q lines:\n%.2000s", len(lines), c.msg, logs.String()[before:])
			}
			if n := len(lines[0]); n > maxLogLineBytes {
				t.Errorf("a line of %d bytes, want at most %d: %.300s", n, maxLogLineBytes, lines[0])
			}
			if !strings.Contains(lines[0], "…") {
				t.Errorf("the cut is not marked: %.600s", lines[0])
			}
		})
	}
}

// maxLogLineBytes is the most a test request may make a log line.
const maxLogLineBytes = 4 << 10

// TestRefusalLogBoundsCause: the cause of a refusal, which may quote what
// the client sent (an unverified token's issuer, a group name), is cut on
// the "proxy: request refused" line.
func TestRefusalLogBoundsCause(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	r := httptest.NewRequest("GET", "/api/x", nil)
	ex := &exchange{statusWriter: statusWriter{ResponseWriter: httptest.NewRecorder()}}
	f.h.fail(ex, r, invalidToken(errors.New("idp: issuer "+strings.Repeat("i", 20000)+" is not trusted")))
	lines := logLines(logs.String(), "proxy: request refused")
	if len(lines) != 1 {
		t.Fatalf("%d lines:\n%.2000s", len(lines), logs.String())
	}
	if n := len(lines[0]); n > maxLogLineBytes || !strings.Contains(lines[0], "…") {
		t.Errorf("a line of %d bytes, want at most %d, cut with …: %.300s", n, maxLogLineBytes, lines[0])
	}
}

// TestJSONLogHasNoTerminalControls: slog's JSON handler escapes the ASCII
// controls (ESC included) but writes C1 controls and bidirectional
// overrides as they are; U+009B is an 8-bit CSI to terminals that read it.
// A value a client chose shows them as U+FFFD in either format, and
// printable non-ASCII text stays.
func TestJSONLogHasNoTerminalControls(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	s := f.session()
	s.Identity.Subject = "josé\u009b2J\u202eevil"
	f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
	f.do(t, "GET", "/public/x", nil, func(r *http.Request) { r.Host = "h\u009b31m\x1b[0m.test" })
	out := logs.String()
	if n := strings.Count(out, `"msg":"request"`); n != 2 {
		t.Fatalf("%d request lines:\n%s", n, out)
	}
	for _, bad := range []string{"\u009b", "\u202e", "\x1b"} {
		if strings.Contains(out, bad) {
			t.Errorf("the log holds %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "\"user\":\"josé\ufffd2J\ufffdevil\"") {
		t.Errorf("user not shown with U+FFFD for its controls:\n%s", out)
	}
}

// TestEventLogSubBounded: the "sub" of the other log lines is shown as the
// request line's user is: user_claim may take it from a claim the user
// chose (preferred_username), so it is cut and its controls replaced.
func TestEventLogSubBounded(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	s := f.session()
	s.Identity.Subject = "\u009b2J" + strings.Repeat("s", 5000)
	s.Expiry = f.clock.Now().Add(-time.Minute) // the access token is refreshed, which fails
	f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
	lines := logLines(logs.String(), "proxy: refresh failed")
	if len(lines) != 1 {
		t.Fatalf("%d refresh lines:\n%.3000s", len(lines), logs.String())
	}
	if n := len(lines[0]); n > maxLogLineBytes || strings.Contains(lines[0], "\u009b") || strings.Contains(lines[0], `\u009b`) ||
		!strings.Contains(lines[0], "…") {
		t.Errorf("a line of %d bytes, want at most %d, cut with … and no C1: %.300s", n, maxLogLineBytes, lines[0])
	}
}

// TestUpstreamDroppedFieldsLogOneLine: an upstream's answer whose
// Set-Cookie fields for the gateway's cookies, or whose forbidden
// trailers, are dropped gives one line each with the count, not a line per
// field. A line per field let one answer of 2,000 Set-Cookie fields (its
// header block may hold some 10,000) write 2,000 lines, about 300 KB,
// at info.
func TestUpstreamDroppedFieldsLogOneLine(t *testing.T) {
	var logs syncBuffer
	const n = 2000
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		for i := range n {
			w.Header().Add("Set-Cookie", []string{"portcullis", "__Host-portcullis", "portcullis_1", "=portcullis"}[i%4]+"=x")
		}
		w.Header().Set("Trailer", "Set-Cookie, Cache-Control")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
		w.Header().Set("Set-Cookie", "portcullis=t")
		w.Header().Set("Cache-Control", "public")
		for i := range 40 { // unannounced, within what Go's client reads
			w.Header().Set(fmt.Sprintf("%sX-Forwarded-User-%d", http.TrailerPrefix, i), "x")
			w.Header().Set(fmt.Sprintf("%sContent-Length-%d", http.TrailerPrefix, i), "1")
		}
		w.Header().Set(http.TrailerPrefix+"X-Forwarded-User", "mallory")
		w.Header().Set(http.TrailerPrefix+"Content_Length", "1")
	}, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	resp := f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, f.session())))
	if resp.StatusCode != http.StatusOK || len(resp.Header["Set-Cookie"]) != 0 {
		t.Fatalf("status %d, %d Set-Cookie fields passed", resp.StatusCode, len(resp.Header["Set-Cookie"]))
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	out := logs.String()
	cookies := logLines(out, "proxy: dropped an upstream's Set-Cookie for a gateway cookie")
	if len(cookies) != 1 || !strings.Contains(cookies[0], fmt.Sprintf(" count=%d", n)) {
		t.Errorf("%d Set-Cookie lines, want one with count=%d:\n%.1000s", len(cookies), n, out)
	}
	trailers := logLines(out, "proxy: dropped an upstream's trailers")
	if len(trailers) == 0 || len(trailers) > 2 { // announced, then sent
		t.Errorf("%d trailer lines, want one or two:\n%.1000s", len(trailers), out)
	}
	if lines := strings.Count(out, "\n"); lines > 4 || len(out) > maxLogLineBytes {
		t.Errorf("one answer made %d lines, %d bytes:\n%.1000s", lines, len(out), out)
	}
}

// TestEventLogErrBounded: the "err" of the other log lines may quote a
// provider's or a directory's answer (a GitHub SSO header names any number
// of organisations); it is cut and its controls replaced, as the refusal
// line's is. Unbounded, one refused refresh or directory read wrote its
// whole error, line breaks and C1 controls included.
func TestEventLogErrBounded(t *testing.T) {
	hostile := "a\nlevel=ERROR msg=forged \u009b2J " + strings.Repeat("x", 20000)
	check := func(t *testing.T, out, msg string) {
		t.Helper()
		lines := logLines(out, msg)
		if len(lines) != 1 {
			t.Fatalf("%d %q lines:\n%.3000s", len(lines), msg, out)
		}
		if n := len(lines[0]); n > maxLogLineBytes || !strings.Contains(lines[0], "…") || strings.Contains(out, "\u009b") ||
			strings.Contains(out, "\nlevel=ERROR msg=forged") {
			t.Errorf("a line of %d bytes, want at most %d, cut with …, no C1, no forged line: %.300s", n, maxLogLineBytes, lines[0])
		}
	}
	t.Run("refresh", func(t *testing.T) {
		var logs syncBuffer
		f := newFixture(t, withDebugLog(&logs))
		f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) { return nil, nil, errors.New(hostile) }
		s := f.session()
		s.Expiry = f.clock.Now().Add(-time.Minute)
		f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, s)))
		check(t, logs.String(), "proxy: refresh failed")
	})
	t.Run("directory", func(t *testing.T) {
		var logs syncBuffer
		f, dp := directoryFixture(t)
		f.cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) // which writes C1 controls as they are
		var err error
		if f.h, err = New(f.cfg); err != nil {
			t.Fatal(err)
		}
		orgs := make([]string, 3000)
		for i := range orgs {
			orgs[i] = fmt.Sprintf("org\u009b%d", i)
		}
		dp.set(nil, &directory.SSORequiredError{Organizations: orgs})
		s := f.session()
		s.GroupsReadAt = f.clock.Now()
		cookies := f.cookies(t, s)
		f.clock.Advance(11 * time.Minute) // past groups_refresh
		f.do(t, "GET", "/app/x", nil, withCookies(cookies))
		check(t, logs.String(), "proxy: reading groups from the directory failed; keeping the last groups read")
	})
}

// TestUpstreamBreakOffLogBounded: the warn line of an answer that breaks
// off quotes what the upstream sent (here a malformed trailer line, which
// Go reads up to 4 KiB; an HTTP/2 GOAWAY's debug data up to a frame), each
// byte escaped into as many as eight in JSON. It is cut as an err is.
// Unbounded, a 4 KiB trailer of 0xff bytes made a 20 KB line, past what
// Docker's log driver keeps in one line.
func TestUpstreamBreakOffLogBounded(t *testing.T) {
	var logs syncBuffer
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer func() { _ = c.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" +
			"bad\u009b" + strings.Repeat("\xff", 3900) + "\r\n\r\n")
		_ = brw.Flush()
	}, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	resp := f.do(t, "GET", "/app/x", nil, withCookies(f.cookies(t, f.session())))
	_, _ = io.Copy(io.Discard, resp.Body)
	out := logs.String()
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `"msg":"httputil: ReverseProxy read error during body copy: `) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d break-off lines:\n%.2000s", len(lines), out)
	}
	if n := len(lines[0]); n > maxLogLineBytes || !strings.Contains(lines[0], "…") || !strings.Contains(lines[0], `"upstream":"app"`) {
		t.Errorf("a line of %d bytes, want at most %d, cut with …, naming the upstream: %.300s", n, maxLogLineBytes, lines[0])
	}
}
