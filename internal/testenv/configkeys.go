package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// keyReader matches a method of the config decoder's table that is given a
// key: func (t *table) str(k, def string). Its sub (root.sub("server"))
// is given a section, not a key, and is left out.
var keyReader = regexp.MustCompile(`(?m)^func \(\w+ \*table\) (\w+)\(k\b`)

// keyRead matches a call with a literal key: t.str("listen", ...),
// root.tables("routes"), ...
var keyRead = regexp.MustCompile(`\b\w+\.(\w+)\("([a-z_]+)"`)

// ConfigKeys lists, in order of first appearance, the keys the config
// decoder in dir's non-test sources reads (arrays of tables, such as
// routes for [[routes]], included), with whichever of its methods, so that tests of the example
// configuration and of the docs follow the schema instead of a list of
// their own. It fails t when the pattern finds implausibly few keys.
func ConfigKeys(t testing.TB, dir string) []string {
	t.Helper()
	srcs := sources(t, dir)
	readers := map[string]bool{}
	for _, src := range srcs {
		for _, m := range keyReader.FindAllStringSubmatch(src, -1) {
			readers[m[1]] = m[1] != "sub"
		}
	}
	var keys []string
	for _, src := range srcs {
		for _, m := range keyRead.FindAllStringSubmatch(src, -1) {
			if readers[m[1]] && !slices.Contains(keys, m[2]) {
				keys = append(keys, m[2])
			}
		}
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d keys in %s/*.go; the pattern no longer matches the decoder", len(keys), dir)
	}
	return keys
}

// sources returns the text of dir's non-test Go files.
func sources(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var srcs []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
	}
	return srcs
}
