package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzSyntaxKeyShowsNoSecret: whatever is written before it and however a
// client_secret's value is broken, a syntax problem named at that key
// quotes no character ("U+0063 'c'") or number of its line (a control
// character's code point alone, "U+000A", shows nothing written), and the key and column
// finders neither panic nor name a line the document does not have.
func FuzzSyntaxKeyShowsNoSecret(f *testing.F) {
	f.Add("", `"ab"cd"`)
	f.Add("client_id = \"x\"", `"""ab`+"\n"+`cd"""x`)
	f.Add("a = [\n", `1.5e99999`)
	f.Add("[provider.x]", `'ab\q'`)
	f.Add("", `"ab\qcd"`)
	f.Fuzz(func(t *testing.T, before, value string) {
		doc := "[provider]\n" + before + "\nclient_secret = " + value + "\n"
		_, err := Parse("cfg.toml", []byte(doc), envOf(nil))
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("error %T: %v", err, err)
		}
		last := lastLine([]byte(doc))
		for _, p := range ps {
			if p.Line < 1 || p.Line > last {
				t.Errorf("problem %q: line not in 1..%d:\n%q", p, last, doc)
			}
			if strings.HasSuffix(p.Key, "client_secret") && (quotedRune.MatchString(p.Msg) || quotedValue.MatchString(p.Msg)) {
				t.Errorf("problem %q quotes the secret's line:\n%q", p, doc)
			}
		}
		for line := range last + 2 {
			_ = linesOf([]byte(doc), line, line+1)
			_ = runeColumn([]byte(doc), lineStart([]byte(doc), line))
		}
	})
}
