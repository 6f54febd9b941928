package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFuzzScriptRunsEveryTarget runs scripts/fuzz.sh in a repository of
// two packages that each have a FuzzSame (Go allows one name in two
// packages), with a go that records what it is asked to fuzz: each
// package's target must be asked for. Finding the targets by name alone,
// the script fuzzed the first package's and skipped the other's without a
// word.
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
		// Records each call: "go test ... -fuzz ^FuzzX$ ... ./pkg/".
		"bin/go": "#!/bin/sh\necho \"$*\" >>\"$FUZZ_LOG\"\n",
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
		f := strings.Fields(call)
		got = append(got, f[len(f)-1]+" "+f[slices.Index(f, "-fuzz")+1])
	}
	slices.Sort(got)
	want := []string{"./a/ ^FuzzSame$", "./b/ ^FuzzOther$", "./b/ ^FuzzSame$"}
	if !slices.Equal(got, want) {
		t.Errorf("fuzz.sh fuzzed %q, want %q", got, want)
	}
}
