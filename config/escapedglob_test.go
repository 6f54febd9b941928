package config

import (
	"strings"
	"testing"
)

// TestEscapedStarPathNamesItsLine: a route path with "%2A", which the
// gateway decoded into the glob "*" (`path = "/%2A/docs"`, public, made
// every "/x/docs" public), is an error at its line.
func TestEscapedStarPathNamesItsLine(t *testing.T) {
	doc := strings.Replace(base, `path = "/**"`, `path = "/%2A/docs"`+"\npublic = true", 1)
	_, got := parseDoc(t, t.TempDir(), doc, nil)
	want := `cfg.toml:16: routes[0].path: "%2A": an escaped "*" is read as "*", as a request's "%2A" is, so it would be a glob or part of one: write "*" or "**" as a whole segment`
	if strings.Join(got, "\n") != want {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
