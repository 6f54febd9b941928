package testenv

import "strings"

// LinesContaining returns the lines of s that contain sub, joined by
// newlines: the part of a long log or /metrics page that a failure message
// is about.
func LinesContaining(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
