package logattr

import (
	"errors"
	"strings"
	"testing"
)

func TestValue(t *testing.T) {
	cases := []struct {
		name, in string
		n        int
		want     string
	}{
		{"ascii kept", "GET /a b", 64, "GET /a b"},
		{"cut with a mark", "abcdef", 3, "abc…"},
		{"cut on a rune boundary", "aé", 2, "a…"},
		{"C1 control replaced", "a\u009bb", 64, "a\ufffdb"},
		{"bidi override replaced", "a\u202eb", 64, "a\ufffdb"},
		{"printable non-ASCII kept", "grüße", 64, "grüße"},
	}
	for _, c := range cases {
		if got := Value(c.in, c.n); got != c.want {
			t.Errorf("%s: Value(%q, %d) = %q, want %q", c.name, c.in, c.n, got, c.want)
		}
	}
}

// TestText: text written raw (standard error, /readyz) has no control
// character at all, ASCII or not.
func TestText(t *testing.T) {
	if got, want := Text("a\x1b[2J\x07\r\nb\u009bc\u202ed", 64), "a\ufffd[2J\ufffd\ufffd\ufffdb\ufffdc\ufffdd"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got := Text("abcdef", 3); got != "abc…" {
		t.Errorf("Text cut = %q", got)
	}
	if got := Text(strings.Repeat("\x1b", 300), 100); len(got) > 100+len("…") {
		t.Errorf("Text of 300 ESC cut at 100 wrote %d bytes", len(got))
	}
}

// TestValueASCIIDoesNotAllocate: the access line shows every request's
// method, host, path and user through Value.
func TestValueASCIIDoesNotAllocate(t *testing.T) {
	s := strings.Repeat("/app/x", 50)
	if n := testing.AllocsPerRun(100, func() { _ = Value(s, 2048) }); n != 0 {
		t.Errorf("Value of ASCII allocates %v times, want 0", n)
	}
}

// TestErrBounded: an error is cut after MaxCause bytes; a control replaced
// by U+FFFD may grow from 2 bytes to 3.
func TestErrBounded(t *testing.T) {
	a := Err(errors.New("x\u009b" + strings.Repeat("y", 5000)))
	if got := a.Value.String(); a.Key != "err" || len(got) > MaxCause*3/2+len("…") || strings.Contains(got, "\u009b") {
		t.Errorf("Err = %s %.80q (%d bytes)", a.Key, got, len(got))
	}
	if r := Reason(errors.New("gone")); r.Key != "reason" || r.Value.String() != "gone" {
		t.Errorf("Reason = %v", r)
	}
	if got := Err(nil).Value.String(); got != "<nil>" {
		t.Errorf("Err(nil) = %q", got)
	}
	if got := Line([]byte("a\nb\n")); got != "a\nb" {
		t.Errorf("Line = %q, want %q", got, "a\nb")
	}
}

// TestValueBoundsWhatIsWritten: 400 bytes that are not UTF-8, or 400 C1
// controls, each become a U+FFFD of three bytes: replaced after the cut,
// an error of 1,024 such bytes made an "err" of 3,075.
func TestValueBoundsWhatIsWritten(t *testing.T) {
	for _, s := range []string{strings.Repeat("\xff", 400), strings.Repeat("\u009b", 400), "é" + strings.Repeat("\xff", 400)} {
		v := Err(errors.New(s)).Value.String()
		if len(v) > MaxCause+len("…") || !strings.HasSuffix(v, "\uFFFD…") {
			t.Errorf("err of %.20q…: %d bytes ending %q, want at most %d, cut with …", s, len(v), v[len(v)-8:], MaxCause+len("…"))
		}
	}
}
