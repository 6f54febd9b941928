package ascii

import (
	"testing"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
)

// invisibleNames hold a character Unicode calls default-ignorable (a
// format character, a variation selector, ...): drawn as nothing, and
// ignored, at every strength, by a Unicode collation (UCA: ICU, MySQL 8's
// utf8mb4_0900 collations, JavaScript's Intl.Collator and localeCompare,
// PostgreSQL's ICU collations), so an application that compares names
// case-insensitively that way reads each as the ASCII name beside it.
var invisibleNames = map[string]string{
	"ka\u200bte":     "kate",   // zero-width space
	"ad\u00admin":    "admin",  // soft hyphen
	"admins\u2060":   "admins", // word joiner
	"ka\u200dte":     "kate",   // zero-width joiner
	"\u202eadmin":    "admin",  // right-to-left override
	"kate\ufe0f":     "kate",   // variation selector 16
	"ka\u034fte":     "kate",   // combining grapheme joiner
	"root\U000e0041": "root",   // tag latin capital letter A
	"ops\u180b":      "ops",    // Mongolian free variation selector
	"ann\ufeffe":     "anne",   // zero-width no-break space, inside
	"bob\u200e":      "bob",    // left-to-right mark
	"eve\u2061":      "eve",    // function application (invisible operator)
}

// TestMisreadableInvisible: a name with an invisible character is the
// ASCII name to a case-insensitive Unicode collation, and Misreadable says
// so. It said "" for every one of them: such a user or group reached the
// application, which took it for the other.
func TestMisreadableInvisible(t *testing.T) {
	fold := collate.New(language.Und, collate.IgnoreCase)
	for s, reads := range invisibleNames {
		if fold.CompareString(s, reads) != 0 {
			t.Errorf("%+q: a case-insensitive collation tells it from %q", s, reads)
		}
		if Misreadable(s) == "" {
			t.Errorf("Misreadable(%+q) = \"\", yet a collation reads it as %q", s, reads)
		}
	}
	// An accent is no such character: the same collation tells José from Jose.
	if fold.CompareString("José", "Jose") == 0 || Misreadable("José") != "" {
		t.Error("José read as Jose")
	}
}

// TestJoinersInsideOtherScripts: the zero-width non-joiner and joiner are
// how Persian and the Indic scripts spell words, and with variation
// selectors how emoji are written; between characters past ASCII (the
// contexts IDNA's CONTEXTJ rules allow), ignoring them leaves a text past
// ASCII, which no ASCII name is, and a group or user spelled so signs in.
// Beside ASCII, at either end, or after another invisible they still hide
// in an ASCII name.
func TestJoinersInsideOtherScripts(t *testing.T) {
	for _, s := range []string{
		"\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", // Persian, ZWNJ
		"\u0915\u094d\u200d\u0937",                         // Devanagari, ZWJ after virama
		"\u2764\ufe0f",                                     // heart, presentation selector
		"\U0001f469\u200d\U0001f4bb",                       // woman technologist
		"\U0001f3f3\ufe0f\u200d\U0001f308",                 // rainbow flag
		"\u2764\ufe0f\u200d\U0001f525",                     // heart on fire
		"\U0001f3f3\ufe0f\u200d\u26a7\ufe0f",               // transgender flag
		"ops-\u0641\u0627\u0631\u0633\u06cc\u200c\u0647\u0627",
	} {
		if why := Misreadable(s); why != "" {
			t.Errorf("Misreadable(%+q) = %q, want \"\"", s, why)
		}
	}
	for _, s := range []string{
		"\ufe0fadmin", "\u200cadmin", "admin\u200c", "ka\u200dte", "\u0645\u200ckate",
		"kate\u200c\u0645", "\u0645\u200b\u200c\u0645x", "\u0645\u200d\u200dadmin",
		"\u0645\ufe0f\u200dadmin", "a\ufe0f\u200d\u0645", "\u0645\ufe0f\ufe0f\u200d\u0645",
		"\u0645\u200d\ufe0f\u200d\u0645",
	} {
		if Misreadable(s) == "" {
			t.Errorf("Misreadable(%+q) = \"\", want a reason", s)
		}
	}
}
