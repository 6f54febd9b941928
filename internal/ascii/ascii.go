// Package ascii compares names that are ASCII by definition (host names,
// schemes, domains) case-insensitively, without Unicode case folding.
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

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
