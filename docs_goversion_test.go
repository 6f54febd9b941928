package portcullis_test

import (
	"os"
	"regexp"
	"testing"
)

// TestReadmeGoVersionIsGoMod: the Go the README asks for to build from a
// clone is go.mod's go line: an older one refuses the module (with
// GOTOOLCHAIN=local, as in many CI images) or downloads another.
func TestReadmeGoVersionIsGoMod(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	asks := regexp.MustCompile(`\(Go (\S+) or newer`).FindSubmatch(readme)
	if asks == nil {
		t.Fatal(`README.md names no "(Go X or newer" for go install`)
	}
	if string(asks[1]) != string(m[1]) {
		t.Errorf("README.md asks for Go %s or newer; go.mod requires go %s", asks[1], m[1])
	}
}
