// Package ascii compares and lowercases names that are ASCII by definition
// (host names, schemes, domains, directory logins and addresses)
// case-insensitively, without Unicode case folding, and tells which
// non-ASCII text an application's case folding, normalisation or
// collation reads as another (lookalike.go).
package ascii

// EqualFold reports whether a and b are equal under ASCII case folding.
// strings.EqualFold also folds non-ASCII letters: it takes the long s "ſ"
// for "s" and the Kelvin sign for "k", so "dir.teſt" would equal
// "dir.test" there while a resolver or a peer reads another name.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// ToLower maps A-Z to a-z and leaves every other byte as it is.
// strings.ToLower also maps the Kelvin sign (U+212A) to "k": a name spelt
// with it would become another, ASCII name, the one a rule may list.
func ToLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = lower(b[j])
			}
			return string(b)
		}
	}
	return s
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Digits reports whether s is one or more ASCII digits. strconv.ParseInt
// reports a range error at the first digit past int64's range, before it
// reads the rest, so its callers that read a range error as "a very large
// number" must first know that s is only digits ("20000000000000000000A"
// is no number).
func Digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
