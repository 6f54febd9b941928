package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldEmail is the key under which allow_emails and allow_email_domains
// entries and the identity's address are compared case-insensitively (as
// the rules promise, beyond ASCII): ASCII letters lower-cased, and every
// other character replaced by the smallest member of its Unicode simple
// case-folding orbit (foldRune), so that "MÜLLER" and "müller", "ΣΟΦΙΑ"
// and "σοφια" are one. The entry was lower-cased with Unicode's mapping
// and the address with ASCII's, so an upper-case "Ü" in the address
// missed the entry. A character whose orbit holds an ASCII letter (the Kelvin sign,
// the long s) stays itself: no entry and no identity holds one
// (ascii.Misreadable), and it must never be read as the ASCII letter, or
// "\u212aate@example.com" would be kate's. Only an address that is not
// ASCII pays for it.
func foldEmail(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldRune is foldEmail's form of one character. A compatibility
// character (one NFKC changes: the micro sign, the Greek beta symbol) is
// another character than the letter it resembles, which an address of
// another mailbox may hold, so it keeps itself and is never a fold's
// target: "\u00b5aria" does not become "\u03bcaria"'s key.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		return unicode.ToLower(r)
	}
	if !nfkcStable(r) {
		return r
	}
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return r
		}
		if f < least && nfkcStable(f) {
			least = f
		}
	}
	return least
}

// nfkcStable reports whether NFKC leaves the character r as it is.
func nfkcStable(r rune) bool {
	var b [utf8.UTFMax]byte
	return norm.NFKC.IsNormal(b[:utf8.EncodeRune(b[:], r)])
}
