package main

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzShownGroup: whatever name a directory sends, its printed form is one
// line of UTF-8 text with no character a terminal acts on (C0 controls,
// ESC and DEL among them, and C1 controls, CSI among them) and none that
// draws one name as another (format characters: bidirectional overrides,
// zero-width), and it gives the name back: as it is, or, when it starts
// with a quote, through strconv.Unquote.
func FuzzShownGroup(f *testing.F) {
	for _, g := range []string{"staff", "Ada team", `"quoted`, "a\x1b[31m", "a\u009b31m", "a\u202eb", "a\u200bb",
		"\xff", "a\nb", "\x7f", "\u00a0", "é", "ą"} {
		f.Add(g)
	}
	f.Fuzz(func(t *testing.T, g string) {
		shown := shownGroup(g)
		if !utf8.ValidString(shown) {
			t.Fatalf("shownGroup(%q) = %q, not UTF-8", g, shown)
		}
		if i := strings.IndexFunc(shown, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
		}); i >= 0 {
			t.Fatalf("shownGroup(%q) = %q holds %U", g, shown, []rune(shown[i:])[0])
		}
		back := shown
		if strings.HasPrefix(shown, `"`) {
			var err error
			if back, err = strconv.Unquote(shown); err != nil {
				t.Fatalf("shownGroup(%q) = %s: %v", g, shown, err)
			}
		}
		if back != g {
			t.Fatalf("shownGroup(%q) = %s reads as %q", g, shown, back)
		}
	})
}
