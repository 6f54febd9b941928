package idp

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzHeaderValueRule: HeaderValue's verdict on a string, alone or as an
// array element, is the one written from Unicode's categories: refused
// when a rune is a control character (Cc: C0, DEL, C1) or the line or
// paragraph separator, when the first or last rune is white space, the
// byte-order mark or U+180E, or, in an array, when it holds a comma;
// otherwise the value passes unchanged. An invalid byte is no rune of
// either kind: it passes, as the one the provider sent.
func FuzzHeaderValueRule(f *testing.F) {
	for _, s := range []string{"", "alice", "a\tb", "a\u0085b", "\u00a0a", "a\u2028", "a\u2029b", "\ufeffa",
		"a\u180e", "a\x80\xff", "\xc2", "a,b", "\x7f", "a\u009b[31m", "\u3000", "Jos\u00e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := refusedByRule(s)
		got, err := HeaderValue(s)
		if (err != nil) != want || (err == nil && got != s) {
			t.Errorf("HeaderValue(%q) = %q, %v; the rule refuses it: %v", s, got, err, want)
		}
		for _, list := range []any{[]string{"x", s}, []any{s, "y"}} {
			want := want || strings.Contains(s, ",")
			got, err := HeaderValue(list)
			if (err != nil) != want {
				t.Errorf("HeaderValue(%#v) = %q, %v; the rule refuses it: %v", list, got, err, want)
			}
		}
	})
}

// refusedByRule is the header rule written from Unicode's categories.
func refusedByRule(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cc, r) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	if s == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	for _, r := range []rune{first, last} {
		if unicode.Is(unicode.White_Space, r) || r == '\ufeff' || r == '\u180e' {
			return true
		}
	}
	return false
}
