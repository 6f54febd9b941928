package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// decodedKey matches a key read by the config decoder: t.str("listen", ...),
// t.tables("routes"), ...
var decodedKey = regexp.MustCompile(`\b[a-z]\.(?:str|strs|secret|secretList|duration|boolean|strMap|tables|int)\("([a-z_]+)"`)

// ConfigKeys lists, in order of first appearance, the keys the config
// decoder in dir's non-test sources reads, so that tests of the example
// configuration and of the docs follow the schema instead of a list of
// their own. It fails t when the pattern finds implausibly few keys.
func ConfigKeys(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range decodedKey.FindAllStringSubmatch(string(b), -1) {
			if !slices.Contains(keys, m[1]) {
				keys = append(keys, m[1])
			}
		}
	}
	if len(keys) < 50 {
		t.Fatalf("found only %d keys in %s/*.go; the pattern no longer matches the decoder", len(keys), dir)
	}
	return keys
}
