package scripts

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testProgram matches a test's lookup of a program it needs
// (testenv.LookPath(t, "nginx")), which fails the test in CI when the
// program is missing.
var testProgram = regexp.MustCompile(`LookPath\((?:t|tb|b), "([^"]+)"\)`)

// installedElsewhere are the programs test.sh provides other than by its
// list of Debian packages: Traefik built from its module, Node.js 22 from
// the npm registry when the system's is older, and java, which comes with
// the JDK that javac names in the list.
var installedElsewhere = map[string]bool{"traefik": true, "node": true, "java": true}

// TestEveryProgramTheTestsNeedIsInstalled reads every test file for the
// programs it looks up and checks that test.sh installs each. A test once
// needed java, which the machine it was written on had and a clean one may
// not: the README's test command would then fail there.
func TestEveryProgramTheTestsNeedIsInstalled(t *testing.T) {
	script, err := os.ReadFile("test.sh")
	if err != nil {
		t.Fatal(err)
	}
	// The list: "for pair in chromium:chromium ... curl:curl; do".
	list := regexp.MustCompile(`(?s)for pair in (.*?); do`).FindSubmatch(script)
	if list == nil {
		t.Fatal("test.sh has no `for pair in COMMAND:PACKAGE ...; do` list")
	}
	listed := map[string]bool{}
	for _, pair := range strings.Fields(strings.ReplaceAll(string(list[1]), "\\", " ")) {
		cmd, _, _ := strings.Cut(pair, ":")
		listed[cmd] = true
	}
	seen := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testProgram.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !listed[m[1]] && !installedElsewhere[m[1]] {
				t.Errorf("%s looks up %q, which scripts/test.sh does not install", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 5 {
		t.Fatalf("found %d program lookups in the tests, want the e2e package's many", seen)
	}
}
