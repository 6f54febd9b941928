package portcullis_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The workflows are part of what a release is made of: an action moved
// under a tag, a token left in .git/config for every later step, or a build
// cache that another run wrote all reach the published binaries and image.
// These tests keep the supply-chain rules of docs/operations.md#install true.

// workflowStep is the part of a step the tests read.
type workflowStep struct {
	Uses string         `json:"uses"`
	Run  string         `json:"run"`
	With map[string]any `json:"with"`
}

type workflowFile struct {
	Permissions any `json:"permissions"`
	Jobs        map[string]struct {
		Permissions any            `json:"permissions"`
		Steps       []workflowStep `json:"steps"`
	} `json:"jobs"`
}

// workflowFiles reads every workflow: name (ci.yml) -> raw text.
func workflowFiles(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(".github/workflows/*.y*ml")
	if err != nil || len(paths) < 4 {
		t.Fatalf("found %d workflows (%v), want ci, fuzz, govulncheck and release", len(paths), err)
	}
	out := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = string(b)
	}
	return out
}

func parseWorkflow(t *testing.T, name, text string) workflowFile {
	t.Helper()
	var w workflowFile
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

var (
	usesLine = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*["']?([^"'\s#]+)["']?\s*(?:#\s*(.*))?$`)
	// owner/repo[/path]@<commit> # vX[.Y[.Z]]
	pinnedRef     = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@]+)?@[0-9a-f]{40}$`)
	pinnedVersion = regexp.MustCompile(`^v\d+(\.\d+){0,2}$`)
	pinnedImage   = regexp.MustCompile(`^docker://[^@]+@sha256:[0-9a-f]{64}$`)
)

// unpinnedUses returns each `uses:` of text that a push to another
// repository could change: an action by tag or branch, or without the
// release it pins in a trailing comment (what Dependabot updates).
func unpinnedUses(name, text string) []string {
	var out []string
	for i, line := range strings.Split(text, "\n") {
		m := usesLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ref, comment := m[1], strings.TrimSpace(m[2])
		switch {
		case strings.HasPrefix(ref, "./"), pinnedImage.MatchString(ref):
		case !pinnedRef.MatchString(ref):
			out = append(out, fmt.Sprintf("%s:%d: %s is not pinned to a commit SHA", name, i+1, ref))
		case !pinnedVersion.MatchString(comment):
			out = append(out, fmt.Sprintf("%s:%d: %s has no \"# vX.Y.Z\" comment", name, i+1, ref))
		}
	}
	return out
}

// TestWorkflowActionsPinned: every action a workflow runs is pinned to a
// full commit SHA, with its release in a comment.
func TestWorkflowActionsPinned(t *testing.T) {
	files := workflowFiles(t)
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	n := 0
	for _, name := range names {
		n += strings.Count(files[name], "uses:")
		for _, p := range unpinnedUses(name, files[name]) {
			t.Error(p)
		}
	}
	if n < 10 {
		t.Fatalf("found %d uses: in the workflows, the checker reads none", n)
	}
}

// TestUnpinnedUsesChecker runs the checker on a sample, so that a checker
// that passes everything cannot pass TestWorkflowActionsPinned.
func TestUnpinnedUsesChecker(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	sample := strings.Join([]string{
		"      - uses: actions/checkout@v4",
		"      - uses: actions/checkout@" + sha + " # v4.3.1",
		"        uses: docker/build-push-action@main",
		"      - uses: \"actions/setup-go@" + sha + "\"  # v5",
		"      - uses: actions/setup-node@" + sha,
		"      - uses: github/codeql-action/init@" + sha + " # v3.29.0",
		"      - uses: ./.github/actions/local",
		"      - uses: docker://alpine:3.20",
		"      - uses: docker://alpine@sha256:" + strings.Repeat("0", 64),
		"      - uses: actions/cache@" + sha[:7] + " # v4",
	}, "\n")
	got := unpinnedUses("x.yml", sample)
	want := []string{
		"x.yml:1: actions/checkout@v4 is not pinned to a commit SHA",
		"x.yml:3: docker/build-push-action@main is not pinned to a commit SHA",
		"x.yml:5: actions/setup-node@" + sha + ` has no "# vX.Y.Z" comment`,
		"x.yml:8: docker://alpine:3.20 is not pinned to a commit SHA",
		"x.yml:10: actions/cache@" + sha[:7] + " is not pinned to a commit SHA",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWorkflowCheckoutsKeepNoToken: no workflow pushes with git, so no
// checkout leaves the job's token in .git/config, where every later step
// (a build, a test dependency, a third-party action) could read it.
func TestWorkflowCheckoutsKeepNoToken(t *testing.T) {
	for name, text := range workflowFiles(t) {
		for job, j := range parseWorkflow(t, name, text).Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "actions/checkout@") {
					continue
				}
				if v, ok := s.With["persist-credentials"]; !ok || v != false {
					t.Errorf("%s job %s: checkout without persist-credentials: false (%v)", name, job, v)
				}
			}
		}
	}
}

// TestReleaseRestoresNoCache: a cache is shared with every run of the
// default branch, pull requests' test dependencies included; the release
// builds what it publishes from the tagged commit alone.
func TestReleaseRestoresNoCache(t *testing.T) {
	w := parseWorkflow(t, "release.yml", workflowFiles(t)["release.yml"])
	steps := 0
	for job, j := range w.Jobs {
		for _, s := range j.Steps {
			steps++
			action, _, _ := strings.Cut(s.Uses, "@")
			switch {
			case action == "actions/cache" || strings.HasPrefix(action, "actions/cache/"):
				t.Errorf("release.yml job %s uses %s", job, action)
			case strings.HasPrefix(action, "actions/setup-") && s.With["cache"] != false:
				t.Errorf("release.yml job %s: %s without cache: false (%v)", job, action, s.With["cache"])
			case s.With["cache-from"] != nil:
				t.Errorf("release.yml job %s: %s restores a cache (cache-from)", job, action)
			}
		}
	}
	if steps < 10 {
		t.Fatalf("release.yml: read %d steps", steps)
	}
}

// releaseWrites is every write scope a job may hold: publishing the image
// and the chart, and creating the GitHub release. All else reads.
var releaseWrites = map[string]bool{
	"release.yml image packages":   true,
	"release.yml chart packages":   true,
	"release.yml publish contents": true,
}

// TestWorkflowPermissionsLeastPrivilege: every workflow's default token
// reads, and a job writes only what releaseWrites grants it.
func TestWorkflowPermissionsLeastPrivilege(t *testing.T) {
	for name, text := range workflowFiles(t) {
		w := parseWorkflow(t, name, text)
		top, ok := w.Permissions.(map[string]any)
		if !ok {
			t.Errorf("%s: permissions %v, want a map of read scopes", name, w.Permissions)
		}
		for scope, level := range top {
			if level != "read" && level != "none" {
				t.Errorf("%s: workflow permission %s: %v", name, scope, level)
			}
		}
		for job, j := range w.Jobs {
			perms, _ := j.Permissions.(map[string]any)
			if j.Permissions != nil && perms == nil {
				t.Errorf("%s job %s: permissions %v, want a map", name, job, j.Permissions)
			}
			for scope, level := range perms {
				if level == "write" && !releaseWrites[name+" "+job+" "+scope] {
					t.Errorf("%s job %s: %s: write", name, job, scope)
				}
			}
		}
	}
}

// TestWorkflowScriptsExpandNoExpressions: a ${{ }} in a run: script is
// pasted into the shell before it runs, so a branch or tag name or an input
// becomes code; such values reach scripts through env: instead.
func TestWorkflowScriptsExpandNoExpressions(t *testing.T) {
	for name, text := range workflowFiles(t) {
		for job, j := range parseWorkflow(t, name, text).Jobs {
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "${{") {
					t.Errorf("%s job %s: run: expands an expression: %q", name, job, s.Run)
				}
			}
		}
	}
}

// workflowEvents returns the events of a workflow's on:, in any of its
// forms (a name, a list, a map).
func workflowEvents(t *testing.T, name, text string) []string {
	t.Helper()
	var w map[string]any
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	on, ok := w["on"]
	if !ok {
		on = w["true"] // how YAML 1.1 reads a bare on:
	}
	switch v := on.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case map[string]any:
		var out []string
		for e := range v {
			out = append(out, e)
		}
		return out
	}
	t.Fatalf("%s: on: %v", name, on)
	return nil
}

// TestWorkflowTriggersRunNoForeignCode: pull_request_target and
// workflow_run run with this repository's token and caches on behalf of a
// pull request from anyone; no workflow uses them.
func TestWorkflowTriggersRunNoForeignCode(t *testing.T) {
	for name, text := range workflowFiles(t) {
		events := workflowEvents(t, name, text)
		if len(events) == 0 {
			t.Errorf("%s: no events read", name)
		}
		for _, e := range events {
			if e == "pull_request_target" || e == "workflow_run" {
				t.Errorf("%s runs on %s", name, e)
			}
		}
	}
}

// TestReleaseVerifiesTheTag runs the release's verify step, the gate of
// every job that publishes, as the runner does (bash -eo pipefail): only a
// tag vX.Y.Z whose version Chart.yaml carries, character for character,
// gets through; the tag name reaches make and the image's build arguments.
func TestReleaseVerifiesTheTag(t *testing.T) {
	w := parseWorkflow(t, "release.yml", workflowFiles(t)["release.yml"])
	var script string
	for _, s := range w.Jobs["verify"].Steps {
		script += s.Run
	}
	for _, c := range []struct {
		tag, chart string
		pass       bool
	}{
		{"v1.2.3", "1.2.3", true},
		{"v1.2.3", "1x2x3", false},
		{"v1.2.3-rc.1", "1.2.3-rc.1", false},
		{"v1.2.3`id`", "1.2.3`id`", false},
		{"v1.2.3$(id)", "1.2.3$(id)", false},
		{"v1.2.3", "1.2.4", false},
	} {
		dir := filepath.Join(t.TempDir(), "charts", "portcullis")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		chart := fmt.Sprintf("apiVersion: v2\nname: portcullis\nversion: %s\nappVersion: \"%s\"\n", c.chart, c.chart)
		if err := os.WriteFile(filepath.Join(dir, "Chart.yaml"), []byte(chart), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		cmd.Dir = filepath.Dir(filepath.Dir(dir))
		cmd.Env = append(os.Environ(), "GITHUB_REF_NAME="+c.tag)
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.pass {
			t.Errorf("tag %q, chart %q: passed %v, want %v (%s)", c.tag, c.chart, err == nil, c.pass, out)
		}
	}
}
