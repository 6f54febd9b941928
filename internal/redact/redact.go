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
// that is also a run of v; runs that touch or overlap become one Mark. Its
// cost is linear in len(s)+len(v): v may be long and chosen by a client
// (an authorization code of tens of KiB in a callback URL), and a search
// of v for every position of s made one refused callback cost 50 ms of CPU.
func Secret(s, v string) string { return Secrets(s, v) }

// Secrets is Secret for several secrets at once, each looked for in s as
// given: one removed first cut the runs of another apart where they share
// bytes (a value and its form-encoded spelling), and what lay between two
// Marks, under MinRun bytes each, stayed. A secret shorter than MinRun goes
// only whole.
func Secrets(s string, vs ...string) string {
	if len(s) == 0 {
		return s
	}
	var covered []bool
	var windows map[string]bool // s's windows of MinRun bytes, true once found in a secret
	for _, v := range vs {
		switch {
		case v == "":
		case len(v) < MinRun:
			for i := strings.Index(s, v); i >= 0; {
				covered = cover(covered, len(s), i, i+len(v))
				if j := strings.Index(s[i+len(v):], v); j >= 0 {
					i += len(v) + j
				} else {
					i = -1
				}
			}
		case len(s) >= MinRun:
			if windows == nil {
				windows = windowsOf(s)
			}
			for j := 0; j+MinRun <= len(v); j++ {
				if _, ok := windows[v[j:j+MinRun]]; ok {
					windows[v[j:j+MinRun]] = true
				}
			}
		}
	}
	for i := 0; windows != nil && i+MinRun <= len(s); i++ {
		if windows[s[i:i+MinRun]] {
			covered = cover(covered, len(s), i, i+MinRun)
		}
	}
	if covered == nil {
		return s
	}
	var b strings.Builder
	for i := range len(s) {
		switch {
		case !covered[i]:
			b.WriteByte(s[i])
		case i == 0 || !covered[i-1]:
			b.WriteString(Mark)
		}
	}
	return b.String()
}

// windowsOf is the set of s's windows of MinRun bytes, none found yet.
func windowsOf(s string) map[string]bool {
	in := make(map[string]bool, len(s)-MinRun+1)
	for i := 0; i+MinRun <= len(s); i++ {
		in[s[i:i+MinRun]] = false
	}
	return in
}

// cover marks bytes [from, to) of a message of n bytes in covered, made
// on first use.
func cover(covered []bool, n, from, to int) []bool {
	if covered == nil {
		covered = make([]bool, n)
	}
	for k := from; k < to; k++ {
		covered[k] = true
	}
	return covered
}
