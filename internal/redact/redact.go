// Package redact removes secrets from text that is about to be logged: an
// error message of a provider or directory that may quote the request it
// refused, in whole or in part.
package redact

import "strings"

// Mark replaces what is removed.
const Mark = "[redacted]"

// MinRun is the shortest part of a secret that Secret removes: 8 bytes of
// a random token are not in an error message by chance, and a message
// that quotes a token's first characters ("token AbC… not found") gives
// them away as surely as the whole token.
const MinRun = 8

// Secret replaces in s the secret v and every run of MinRun bytes or more
// that is also a run of v. s is meant to be short (an error text cut to a
// few hundred bytes): the search is quadratic, and runs only on errors.
func Secret(s, v string) string {
	if v == "" || s == "" {
		return s
	}
	s = strings.ReplaceAll(s, v, Mark)
	if len(v) < MinRun || len(s) < MinRun {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if n := longestRunIn(s[i:], v); n >= MinRun {
			b.WriteString(Mark)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// longestRunIn is the length of the longest prefix of s found in v.
func longestRunIn(s, v string) int {
	best := 0
	for j := range len(v) - MinRun + 1 {
		n := 0
		for n < len(s) && j+n < len(v) && s[n] == v[j+n] {
			n++
		}
		best = max(best, n)
	}
	return best
}
