package policy

import (
	"net/url"

	"golang.org/x/text/unicode/norm"
)

// ComposedPath returns the form an application that normalises paths
// serves the normalised path p as, and whether it differs from p: p's text
// under Unicode's NFKC, normalised again. Nextcloud composes every path
// (NFC), a file system on macOS compares names so, and frameworks that apply
// NFKC read "u" and a combining diaeresis ("/u%CC%88ber/x", as macOS's
// Finder spells file names) as "ü", the Angstrom sign as "Å" and halfwidth
// "ｱ" as "ア". A route written "/über/**" (compilePath keeps only such
// composed patterns) must decide that request too, so the gateway decides
// it at both paths and forwards it unchanged. An ASCII look-alike never
// gets here: Normalize refused it. Only a path with a character beyond
// ASCII pays, with a decoding; an error (the composed text breaks a path
// rule) is the request's 400.
func ComposedPath(p string) (string, bool, error) {
	if !hasNonASCIIEscape(p) {
		return p, false, nil
	}
	text, err := url.PathUnescape(p)
	if err != nil {
		return "", true, err // not Normalize's output, whose escapes are well-formed
	}
	if norm.NFKC.IsNormalString(text) {
		return p, false, nil
	}
	composed, err := Normalize((&url.URL{Path: norm.NFKC.String(text)}).EscapedPath())
	if err != nil {
		return "", true, err
	}
	return composed, composed != p, nil
}

// hasNonASCIIEscape reports whether the normalised path p holds a byte
// beyond ASCII, which Normalize always escapes.
func hasNonASCIIEscape(p string) bool {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '%' && p[i+1] >= '8' {
			return true
		}
	}
	return false
}
