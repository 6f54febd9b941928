package ascii

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NFKCLookalike reports whether the character r (not ASCII) is a
// compatibility variant of ASCII text: its NFKC form differs from it and
// holds an ASCII byte. "‥" (U+2025) is "..", fullwidth "／" (U+FF0F) is
// "/", "ａ" (U+FF41) is "a", "ﬁ" is "fi", "⒈" is "1.", "ª" is "a", "²" is
// "2", the no-break space is a space, the Kelvin sign is "K" and the long
// "ſ" is "s". An application or framework that applies NFKC (Django does to
// user names, many to paths) reads such text as the ASCII one. Accented
// letters ("é" is already NFKC; it has a canonical decomposition, so it
// takes the slower way, with an allocation) and other scripts are not. A
// character the gateway's Unicode does not assign (Unknown) has no
// decomposition here but may have one in the application's, and counts.
func NFKCLookalike(r rune) bool {
	var in [utf8.UTFMax]byte
	if len(norm.NFKC.Properties(in[:utf8.EncodeRune(in[:], r)]).Decomposition()) == 0 {
		// No decomposition, no change: most characters, without
		// allocating, unless this Unicode does not know the character.
		return Unknown(r)
	}
	c := utf8.AppendRune(nil, r)
	n := norm.NFKC.Append(nil, c...)
	if string(n) == string(c) {
		return false
	}
	for _, b := range n {
		if b < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// CaseLookalike reports whether the character r (not ASCII) becomes ASCII
// under Unicode's case mapping or folding, simple or full: U+0130 "İ"
// lowercases to "i", the dotless "ı" uppercases to "I", the long "ſ" to
// "S", and the Kelvin sign lowercases to "k". An application that
// lowercases (Go's strings.ToLower, Python's lower(), JavaScript's
// toLowerCase()) or compares case-insensitively (Java's equalsIgnoreCase)
// reads "\u212aate" as "kate" and "admın" as "admin", where ASCII case
// alone keeps them apart. Full mapping (SpecialCasing.txt), which Go's
// unicode package leaves out, adds the sharp s: "ß" uppercases to "SS"
// (JavaScript's toUpperCase(), Java's toUpperCase(), Python's upper()) and
// both "ß" and the capital "ẞ" fold to "ss" (Python's casefold(), the
// collations of MySQL 8 and ICU), so "boß" is "boss" there. Its other
// entries that give ASCII are ligatures, which NFKCLookalike reports.
func CaseLookalike(r rune) bool {
	if r < utf8.RuneSelf {
		return false
	}
	if r == '\u00df' || r == '\u1e9e' {
		return true
	}
	if unicode.ToLower(r) < utf8.RuneSelf || unicode.ToUpper(r) < utf8.RuneSelf || unicode.ToTitle(r) < utf8.RuneSelf {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return true
		}
	}
	return false
}

// Invisible reports whether the character r is one Unicode calls
// default-ignorable (DerivedCoreProperties.txt): a format character (the
// zero-width space and joiners, the soft hyphen, the word joiner, the
// byte-order mark, bidirectional marks, overrides and isolates, tags; the
// few that Unicode keeps visible, such as the Arabic number sign, count
// too, as no name holds one), a variation selector, or another such as
// the combining grapheme joiner or a Hangul filler. It is drawn as
// nothing and a Unicode collation ignores it at every strength (ICU,
// JavaScript's Intl.Collator and localeCompare, MySQL 8's utf8mb4_0900
// collations, PostgreSQL's ICU ones), as does NFKC_Casefold: an
// application that compares names case-insensitively that way reads
// "ka\u200bte" as "kate" and "ad\u00admin" as "admin".
func Invisible(r rune) bool {
	return r >= utf8.RuneSelf && unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// Unknown reports whether the character r is one the gateway's Unicode
// tables (unicode.Version, and x/text's with it) do not assign: for them
// it has no case mapping and no decomposition, so CaseLookalike and
// NFKCLookalike pass it, while an application on a newer Unicode may read
// it as ASCII. Unicode 16 added the outlined Latin capitals and digits
// (U+1CCD6 to U+1CCF9), which NFKC makes "A" to "Z" and "0" to "9":
// Python 3.14's NFKC and ICU 76 and later (Node's normalize and
// Intl.Collator) read "\U0001CCD6\U0001CCD9\U0001CCE2\U0001CCDE\U0001CCE3"
// as "ADMIN". Planes 2 and 3 hold CJK ideographs alone, none of which
// reads as ASCII: the ones added since (a rare character of a personal
// name) pass. A noncharacter is unknown too.
func Unknown(r rune) bool {
	if r < utf8.RuneSelf || (r >= 0x20000 && r <= 0x3ffff) {
		return false
	}
	return unicode.Is(unicode.Cn, r)
}

// joinsOtherScript reports whether the invisible r at byte i of s is a
// zero-width non-joiner or joiner between two visible characters past
// ASCII, or a variation selector after one: how Persian and the Indic
// scripts spell words (U+200C inside a Persian compound) and emoji their
// sequences and presentation (U+2764 U+FE0F, and U+2764 U+FE0F U+200D
// U+1F525: a joiner after an emoji's selector), the contexts where IDNA's
// CONTEXTJ rules (RFC 5892) allow the joiners. Ignored there, it leaves a
// text past ASCII, which no ASCII name is; beside an ASCII letter, or
// another invisible, it hides in an ASCII name ("ka\u200dte").
func joinsOtherScript(s string, i int, r rune) bool {
	joiner := r == '\u200c' || r == '\u200d'
	if !joiner && !unicode.Is(unicode.Variation_Selector, r) {
		return false
	}
	before, n := utf8.DecodeLastRuneInString(s[:i])
	if r == '\u200d' && unicode.Is(unicode.Variation_Selector, before) {
		// An emoji shown so by its selector joins the next one ("\u2764
		// \ufe0f\u200d\U0001f525", the rainbow flag): the selector must
		// follow a visible character past ASCII in its turn.
		before, _ = utf8.DecodeLastRuneInString(s[:i-n])
	}
	if before < utf8.RuneSelf || before == utf8.RuneError || Invisible(before) {
		return false
	}
	if !joiner {
		return true
	}
	after, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
	return after >= utf8.RuneSelf && after != utf8.RuneError && !Invisible(after)
}

// Misreadable says why an application could read s as another text, or
// "" when it cannot: s holds a character that CaseLookalike,
// NFKCLookalike, Invisible or Unknown reports, or NFC changes it (an "e"
// followed by a combining acute accent is "é" to an application, or a
// database collation, that composes). Names the gateway compares (users, addresses,
// groups) must be neither, so that its rules and the applications read one
// value. ASCII text costs one pass over its bytes.
func Misreadable(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return ""
	}
	for j, r := range s[i:] {
		switch {
		case Unknown(r):
			return fmt.Sprintf("%U is not a character of Unicode %s, which the gateway knows, and a newer Unicode may read it as ASCII", r, unicode.Version)
		case CaseLookalike(r) || (r >= utf8.RuneSelf && NFKCLookalike(r)):
			return fmt.Sprintf("%q (%U) reads as ASCII to applications that fold case or apply NFKC", r, r)
		case Invisible(r) && !joinsOtherScript(s, i+j, r):
			return fmt.Sprintf("%U is an invisible character, which applications that compare with a Unicode collation ignore", r)
		}
	}
	if !norm.NFC.IsNormalString(s) {
		return "it is not in composed form (NFC)"
	}
	return ""
}
