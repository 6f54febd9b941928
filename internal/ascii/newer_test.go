package ascii

import (
	"testing"
	"unicode"
)

// TestMisreadableNewerUnicode: a character that the gateway's Unicode
// (unicode.Version, 15.0 with Go 1.26, and x/text's tables with it) does
// not know may be one that a newer runtime reads as ASCII. Unicode 16
// added the outlined Latin capitals and digits (U+1CCD6 to U+1CCF9, NFKC
// "A" to "Z" and "0" to "9"), and U+A7F1 came later (NFKC "S"): Node 20 with
// ICU 78 (Unicode 17) normalises "\U0001CCD6\U0001CCD9\U0001CCE2\U0001CCDE\U0001CCE3"
// to "ADMIN", and its Intl.Collator reads it as "admin", as Python 3.14
// (Unicode 16) does with NFKC. Misreadable said "" for each: unknown, they
// had no decomposition. CJK ideographs added since (planes 2 and 3, which
// hold nothing else) and private-use characters still pass.
func TestMisreadableNewerUnicode(t *testing.T) {
	if unicode.Version >= "16" {
		t.Skipf("unicode.Version %s knows these characters: NFKCLookalike decides", unicode.Version)
	}
	for _, s := range []string{"\U0001CCD6\U0001CCD9\U0001CCE2\U0001CCDE\U0001CCE3", "ops\U0001CCF1\U0001CCF2",
		"\ua7f1am", "bob\ufdd0"} {
		if Misreadable(s) == "" {
			t.Errorf("Misreadable(%+q) = \"\", a character its Unicode does not know", s)
		}
	}
	for _, s := range []string{"\U0002EBF0\u5c71", "\U000323B0", "team\ue000", "山田太郎"} {
		if why := Misreadable(s); why != "" {
			t.Errorf("Misreadable(%+q) = %q", s, why)
		}
	}
}
