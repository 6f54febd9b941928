package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse: whatever the document, Parse never panics and fails only with
// Problems, each naming a line of the document that exists.
func FuzzParse(f *testing.F) {
	f.Add(base)
	f.Add(base + "[headers]\nclaims = { \"X-T\" = \"tenant\" }\n")
	f.Add(base + "[[routes]]\npath = \"/a/**\"\nrequire_claims = { \"a.b\" = 1 }\n")
	f.Add("[server]\npublic_url = \"${X}\"\n")
	f.Add("a = [[[[1]]]]\n")
	f.Add("[[routes]]\n[routes.x]\n")
	f.Add("a = [\n\n")
	f.Add("a = \"\n\n")
	f.Add("[server]\nlisten = ")
	f.Fuzz(func(t *testing.T, doc string) {
		_, err := Parse("cfg.toml", []byte(doc), envOf(map[string]string{"X": "v", "E": ""}))
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("error %T: %v", err, err)
		}
		last := lastLine(bytes.TrimPrefix([]byte(doc), []byte("\uFEFF")))
		for _, p := range ps {
			if p.Line < 1 || p.Line > last || p.Key == "" {
				t.Errorf("problem %q: want a key and a line from 1 to %d:\n%q", p, last, doc)
			}
		}
	})
}
