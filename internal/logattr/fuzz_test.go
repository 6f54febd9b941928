package logattr

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzErr: whatever bytes an error quotes, its "err" is valid UTF-8,
// at most MaxCause bytes and the "…" of a cut, and the line a JSON
// or a text handler writes with it is one line of printable characters.
func FuzzErr(f *testing.F) {
	for _, s := range []string{"plain", "a\nb", "\x1b[31mred", "\u009b31m", "\u202eevil", "\xff\xfe",
		strings.Repeat("\xff", 2000), strings.Repeat("\u009b", 1000), strings.Repeat("é", 600) + "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := Err(errors.New(s))
		v := a.Value.String()
		if !utf8.ValidString(v) || len(v) > MaxCause+len("…") {
			t.Fatalf("err of %.80q: %d bytes, valid UTF-8 %v", s, len(v), utf8.ValidString(v))
		}
		for _, r := range strings.TrimSuffix(v, "…") {
			if r < utf8.RuneSelf {
				continue // ASCII controls are the handlers' to escape
			}
			if !unicode.IsPrint(r) {
				t.Fatalf("err of %.80q holds %U", s, r)
			}
		}
		for _, newHandler := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		} {
			var b bytes.Buffer
			slog.New(newHandler(&b)).Warn("m", a)
			line := strings.TrimSuffix(b.String(), "\n")
			for _, r := range line {
				if !unicode.IsPrint(r) {
					t.Fatalf("line for %.80q holds %U: %.200q", s, r, line)
				}
			}
		}
	})
}
