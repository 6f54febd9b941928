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
func Secret(s, v string) string {
	if v == "" || s == "" {
		return s
	}
	if len(v) < MinRun {
		return strings.ReplaceAll(s, v, Mark)
	}
	// No ReplaceAll of the whole v first: its windows cover it anyway, and
	// a Mark put in first hid the secret's own bytes beside it (the end of
	// a v that repeats itself) from the windows that span into it.
	if len(s) < MinRun {
		return s
	}
	covered := runsOf(v, s)
	if covered == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case !covered[i]:
			b.WriteByte(s[i])
		case i == 0 || !covered[i-1]:
			b.WriteString(Mark)
		}
	}
	return b.String()
}

// runsOf reports which bytes of s lie in a window of MinRun bytes that is
// also a run of v, or nil when none does: s's windows go in a set, and one
// pass over v's windows finds those of them it holds.
func runsOf(v, s string) []bool {
	in := make(map[string]bool, len(s)-MinRun+1)
	for i := 0; i+MinRun <= len(s); i++ {
		in[s[i:i+MinRun]] = false
	}
	seen := false
	for j := 0; j+MinRun <= len(v); j++ {
		if _, ok := in[v[j:j+MinRun]]; ok {
			in[v[j:j+MinRun]], seen = true, true
		}
	}
	if !seen {
		return nil
	}
	covered := make([]bool, len(s))
	for i := 0; i+MinRun <= len(s); i++ {
		if in[s[i:i+MinRun]] {
			for k := i; k < i+MinRun; k++ {
				covered[k] = true
			}
		}
	}
	return covered
}
