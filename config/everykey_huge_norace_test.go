//go:build !race

package config

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestEveryKeyHugeValue: a value of a megabyte, for every key, alone or in
// an array, is quoted in at most a few hundred bytes of a problem: it was
// echoed whole, a megabyte line in check's output and serve's log. Built
// without the race detector only (scripts/norace.sh runs it): it parses
// hundreds of megabyte documents on one goroutine, which took 40 s under
// the detector and 6 s without.
func TestEveryKeyHugeValue(t *testing.T) {
	dir := t.TempDir()
	huge := strings.Repeat("é", 1<<19)
	for _, s := range everyKey() {
		for _, v := range []string{`"` + huge + `"`, `["` + huge + `"]`, `"https://` + huge + `.example/"`} {
			doc, _ := withKey(s.header, s.key+" = "+v)
			for _, p := range parseProblems(t, dir, doc, nil) {
				if len(p.Msg) > 1024 || !utf8.ValidString(p.Msg) {
					t.Errorf("%s = %.20s…: a problem's message of %d bytes (valid UTF-8: %v): %.300s", s.path, v, len(p.Msg), utf8.ValidString(p.Msg), p.Msg)
				}
			}
		}
	}
}
