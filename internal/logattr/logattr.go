// Package logattr bounds the text a log line quotes from a party outside
// the gateway: a client, a provider, a directory, Redis or an upstream.
// Every package logs an error through it, so one rule holds for every
// line: a few KiB at most, and no character that drives a terminal.
package logattr

import (
	"errors"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxCause is how many bytes of an error's text a line keeps: log
// shippers split or drop a line past 16 (Docker) to 48 KiB (journald),
// and an error may quote a provider's, a directory's or an upstream's
// answer, unbounded in length and free in its characters.
const MaxCause = 1024

// Value is s as a log line shows a value another party chose: cut after
// n bytes on a rune boundary (Truncate), and with every character that is
// not printable (C1 controls such as U+009B, an 8-bit CSI to terminals;
// bidirectional overrides) replaced by U+FFFD. slog's JSON handler escapes
// only the ASCII controls and the text handler quotes, so without this a
// value could still drive the terminal a JSON log is read on. ASCII, the
// usual case, is returned without allocating (DEL aside: no handler
// escapes it, so a value holding one is mapped as one past ASCII is).
func Value(s string, n int) string {
	for i := 0; i < len(s) && i < n; i++ {
		// DEL is an ASCII control no handler escapes (JSON need not).
		if c := s[i]; c >= utf8.RuneSelf || c == 0x7f {
			return printableCut(s, n)
		}
	}
	return Truncate(s, n)
}

// printableCut is Value's s past ASCII. The bound is on what is written:
// a byte that is not UTF-8 becomes the three of U+FFFD, so replacing after
// the cut let n bytes of 0xFF make a value three times n.
func printableCut(s string, n int) string {
	var b strings.Builder
	b.Grow(min(len(s), n) + len("…"))
	for _, r := range s {
		if !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Text is s as text written outside a log handler shows it (standard
// error, /readyz's plain-text body): as Value, and with the ASCII controls
// replaced by U+FFFD too. Value keeps those for the handlers, which escape
// them, but a terminal reading raw text obeys them (ESC starts a sequence,
// CR rewrites the line). Like Value, it bounds what is written (a control
// byte becomes the three of U+FFFD), and printable ASCII is returned
// without allocating.
func Text(s string, n int) string {
	for i := 0; i < len(s) && i < n; i++ {
		if c := s[i]; c >= utf8.RuneSelf || c < ' ' || c == 0x7f {
			return printableCut(s, n)
		}
	}
	return Truncate(s, n)
}

// Truncate shortens s to at most n bytes on a rune boundary, the cut
// marked with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Err is the "err" of a log line: err's text shown as Value shows it, cut
// after MaxCause bytes.
func Err(err error) slog.Attr { return slog.String("err", cause(err)) }

// Reason is the "reason" of a log line (why a long-lived answer or
// connection ended), shown as Err shows an error.
func Reason(why error) slog.Attr { return slog.String("reason", cause(why)) }

// Line is a library's own complaint (an ErrorLog, go-redis's logger, Go's
// standard logger) as the message of a line: without its final newline,
// shown as Err shows an error. Such text quotes what a peer sent (an
// upstream's malformed trailer, a client's TLS hello, Redis's answer).
func Line(p []byte) string {
	return Value(strings.TrimSuffix(string(p), "\n"), MaxCause)
}

func cause(err error) string {
	if err == nil {
		err = errNil
	}
	return Value(err.Error(), MaxCause)
}

// errNil stands for a nil error, which slog shows as <nil>.
var errNil = errors.New("<nil>")
