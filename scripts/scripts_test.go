package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestFuzzScriptRunsEveryTarget runs scripts/fuzz.sh in a repository of
// two packages that each have a FuzzSame (Go allows one name in two
// packages), with a go whose test binaries record what they are asked to
// fuzz and where: each package's target must be fuzzed by its own
// package's binary, from the package's directory (where a failing input
// is written). Finding the targets by name alone, the script once fuzzed
// the first package's and skipped the other's without a word.
func TestFuzzScriptRunsEveryTarget(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git: %v", err)
	}
	dir := t.TempDir()
	script, err := os.ReadFile("fuzz.sh")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"scripts/fuzz.sh": string(script),
		"a/a_test.go":     "package a\n\nfunc FuzzSame(f *testing.F) {}\n",
		"b/b_test.go":     "package b\n\nfunc FuzzSame(f *testing.F) {}\n\nfunc FuzzOther(f *testing.F) {}\n",
		// `go test -c ... -o BIN ./pkg/` writes a BIN that records the
		// package it was built for, its directory and its -test.fuzz;
		// `go env` and `go list` answer as go would.
		"bin/go": fakeGo,
	}
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "a", "b", "scripts"}} {
		if out, err := exec.Command(git, append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	log := filepath.Join(dir, "calls")
	cmd := exec.Command("bash", filepath.Join(dir, "scripts/fuzz.sh"), "5x")
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(dir, "bin")+":"+os.Getenv("PATH"), "FUZZ_LOG="+log)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("fuzz.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, call := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		// "./pkg/ DIR ARGS...": the binary's package, where it ran, its
		// arguments.
		f := strings.Fields(call)
		if rel, err := filepath.Rel(dir, f[1]); err != nil || "./"+rel+"/" != f[0] {
			t.Errorf("%s's binary ran in %s, not in its package's directory", f[0], f[1])
		}
		got = append(got, f[0]+" "+f[slices.Index(f, "-test.fuzz")+1])
	}
	slices.Sort(got)
	want := []string{"./a/ ^FuzzSame$", "./b/ ^FuzzOther$", "./b/ ^FuzzSame$"}
	if !slices.Equal(got, want) {
		t.Errorf("fuzz.sh fuzzed %q, want %q", got, want)
	}
}

// fakeGo stands in for go in TestFuzzScriptRunsEveryTarget.
const fakeGo = `#!/bin/sh
case "$1" in
env) echo /nonexistent/gocache ;;
list) echo "example.test/$2" ;;
test)
  for a; do
    case "$prev" in -o) out=$a ;; esac
    prev=$a
  done
  printf '#!/bin/sh\necho "%s $PWD $*" >>"$FUZZ_LOG"\n' "$a" >"$out"
  chmod +x "$out" ;;
esac
`

// TestNoRaceScriptRunsEveryNoRaceTest runs scripts/norace.sh on this
// repository with a go that records what it is asked to run: every test
// in a file built only without the race detector must be selected, in its
// package, since `go test -race ./...` never compiles it. A name pattern
// ('MemoryBounded') left out the anonymous flood, the WebSockets' and the
// heap tests, which CI then never ran.
func TestNoRaceScriptRunsEveryNoRaceTest(t *testing.T) {
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte("#!/bin/sh\necho \"$*\" >>\"$GO_LOG\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "norace.sh")
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "GO_LOG="+log)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("norace.sh: %v\n%s", err, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Fields(string(b))
	i := slices.Index(args, "-run")
	if i < 0 || len(args) < i+3 {
		t.Fatalf("go %q: no -run and packages", args)
	}
	run, err := regexp.Compile(args[i+1])
	if err != nil {
		t.Fatal(err)
	}
	pkgs := args[i+2:]
	found := 0
	files, _ := filepath.Glob("../*/*_test.go")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(src), "\n//go:build !race\n") && !strings.HasPrefix(string(src), "//go:build !race\n") {
			continue
		}
		pkg := "./" + filepath.Base(filepath.Dir(f)) + "/"
		for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(`).FindAllStringSubmatch(string(src), -1) {
			found++
			if !run.MatchString(m[1]) || !slices.Contains(pkgs, pkg) {
				t.Errorf("%s %s (built without -race only) is not run: go %q", pkg, m[1], args)
			}
		}
	}
	if found == 0 {
		t.Fatal("no test built without -race only found: the repository's layout changed")
	}
}
