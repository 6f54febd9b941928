package portcullis_test

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// What a team adopting the gateway asks first: how to report a
// vulnerability (SECURITY.md), whether dependencies are kept current
// (.github/dependabot.yml) and whether known vulnerabilities are looked for
// (.github/workflows/govulncheck.yml). These tests keep the three true as
// the repository changes; TestDocsLinksResolve checks SECURITY.md's links.

// TestSecurityPolicy: SECURITY.md sends reports to this repository's
// private vulnerability reporting (the module path is the repository), not
// to an address nobody reads, and is one link from both indexes.
func TestSecurityPolicy(t *testing.T) {
	md, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	repo := "https://" + modulePath(t) + "/"
	have := linkTargets(md)
	for _, want := range []string{
		repo + "security/advisories/new",
		"docs/security.md#threat-model",
		"docs/operations.md#upgrading",
		".github/dependabot.yml",
		".github/workflows/govulncheck.yml",
	} {
		if !have[want] {
			t.Errorf("SECURITY.md does not link to %s", want)
		}
	}
	for target := range have {
		if strings.HasPrefix(target, "https://github.com/") && !strings.HasPrefix(target, repo) {
			t.Errorf("SECURITY.md links to another repository: %s", target)
		}
	}
	if m := emailAddress.Find(md); m != nil {
		t.Errorf("SECURITY.md names an e-mail address %q: reports go through private vulnerability reporting", m)
	}
	for file, want := range map[string]string{"README.md": "SECURITY.md", "docs/README.md": "../SECURITY.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !linkTargets(b)[want] {
			t.Errorf("%s does not link to %s", file, want)
		}
	}
}

var emailAddress = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)

func linkTargets(md []byte) map[string]bool {
	have := map[string]bool{}
	for _, l := range links(md) {
		have[l.target] = true
	}
	return have
}

func modulePath(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^module\s+(\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no module line")
	}
	return string(m[1])
}

// dependabotConfig is the part of .github/dependabot.yml the tests read.
type dependabotConfig struct {
	Version int `json:"version"`
	Updates []struct {
		Ecosystem   string   `json:"package-ecosystem"`
		Directory   string   `json:"directory"`
		Directories []string `json:"directories"`
		Schedule    struct {
			Interval string `json:"interval"`
		} `json:"schedule"`
		Groups map[string]any `json:"groups"`
	} `json:"updates"`
}

// TestDependabotCoversEveryManifest: a module, Node.js package or
// Dockerfile added to the repository gets its weekly, grouped updates, or
// this test names the directory that has none.
func TestDependabotCoversEveryManifest(t *testing.T) {
	b, err := os.ReadFile(".github/dependabot.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg dependabotConfig
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	need := manifestDirs(t, ".")
	if len(need["gomod"]) < 2 || len(need["github-actions"]) != 1 {
		t.Fatalf("found too few manifests (go.mod and charts/go.mod, the workflows): %v", need)
	}
	for _, p := range dependabotGaps(cfg, need) {
		t.Error(p)
	}
}

// TestDependabotGapChecker runs the checker on a small tree, so that a
// checker that passes everything cannot pass this test.
func TestDependabotGapChecker(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{
		"go.mod", "tools/lint/go.mod", "web/package.json", "web/node_modules/x/package.json",
		"Dockerfile", "deploy/Dockerfile.debug", ".github/workflows/ci.yml", "testdata/m/go.mod",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var cfg dependabotConfig
	err := yaml.Unmarshal([]byte(`version: 2
updates:
  - {package-ecosystem: gomod, directory: /, schedule: {interval: weekly}, groups: {all: {patterns: ["*"]}}}
  - {package-ecosystem: npm, directory: /web/, schedule: {interval: daily}, groups: {all: {patterns: ["*"]}}}
  - {package-ecosystem: docker, directories: ["/", "/deploy"], schedule: {interval: weekly}}
  - {package-ecosystem: github-actions, directory: /, schedule: {interval: weekly}, groups: {all: {patterns: ["*"]}}}
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := dependabotGaps(cfg, manifestDirs(t, root))
	want := []string{
		`gomod /tools/lint: no update entry`,
		`npm /web/: interval "daily", want weekly`,
		`docker /,/deploy: no group (one pull request per dependency)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// manifestDirs lists, per Dependabot ecosystem, the directories ("/",
// "/charts") holding its manifest under root; test data and installed
// node_modules are not the repository's own.
func manifestDirs(t *testing.T, root string) map[string][]string {
	t.Helper()
	dirs := map[string][]string{}
	add := func(eco, rel string) {
		d := "/" + path.Dir(filepath.ToSlash(rel))
		if d == "/." {
			d = "/"
		}
		if !slices.Contains(dirs[eco], d) {
			dirs[eco] = append(dirs[eco], d)
		}
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch name := d.Name(); {
		case d.IsDir() && (name == ".git" || name == "node_modules" || name == "testdata"):
			return filepath.SkipDir
		case d.IsDir():
		case name == "go.mod":
			add("gomod", rel)
		case name == "package.json":
			add("npm", rel)
		case name == "Dockerfile" || strings.HasPrefix(name, "Dockerfile."):
			add("docker", rel)
		case filepath.ToSlash(filepath.Dir(rel)) == ".github/workflows":
			add("github-actions", ".github") // Dependabot reads them from "/"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range dirs {
		sort.Strings(v)
	}
	return dirs
}

// dependabotGaps returns what cfg misses of need (ecosystem -> directories),
// and each entry that is not weekly or not grouped.
func dependabotGaps(cfg dependabotConfig, need map[string][]string) []string {
	var out []string
	covered := map[string]bool{}
	for _, u := range cfg.Updates {
		dirs := append([]string{u.Directory}, u.Directories...)
		if u.Directory == "" {
			dirs = u.Directories
		}
		for _, d := range dirs {
			covered[u.Ecosystem+" "+strings.TrimSuffix(d, "/")] = true
		}
		name := u.Ecosystem + " " + strings.Join(dirs, ",")
		if u.Schedule.Interval != "weekly" {
			out = append(out, name+`: interval "`+u.Schedule.Interval+`", want weekly`)
		}
		if len(u.Groups) == 0 {
			out = append(out, name+": no group (one pull request per dependency)")
		}
	}
	var missing []string
	for eco, dirs := range need {
		for _, d := range dirs {
			if !covered[eco+" "+strings.TrimSuffix(d, "/")] {
				missing = append(missing, eco+" "+d+": no update entry")
			}
		}
	}
	sort.Strings(missing)
	return append(missing, out...)
}

// TestVulnWorkflow: the known-vulnerability scan covers the whole module on
// pushes, pull requests and a schedule (a vulnerability published after the
// last change), with a pinned scanner and a read-only token.
func TestVulnWorkflow(t *testing.T) {
	b, err := os.ReadFile(".github/workflows/govulncheck.yml")
	if err != nil {
		t.Fatal(err)
	}
	var w struct {
		On          map[string]any    `json:"on"`
		OnYAML11    map[string]any    `json:"true"` // how YAML 1.1 reads a bare on:
		Permissions map[string]string `json:"permissions"`
		Jobs        map[string]struct {
			Permissions map[string]string `json:"permissions"`
			Steps       []struct {
				Run string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if w.On == nil {
		w.On = w.OnYAML11
	}
	for _, event := range []string{"push", "pull_request", "schedule"} {
		if _, ok := w.On[event]; !ok {
			t.Errorf("govulncheck.yml does not run on %s", event)
		}
	}
	if len(w.Permissions) != 1 || w.Permissions["contents"] != "read" {
		t.Errorf("workflow permissions %v, want contents: read alone", w.Permissions)
	}
	pinned := regexp.MustCompile(`^go install golang\.org/x/vuln/cmd/govulncheck@v\d+\.\d+\.\d+$`)
	var install, scan bool
	for name, job := range w.Jobs {
		for scope, level := range job.Permissions {
			if level != "read" && level != "none" {
				t.Errorf("job %s asks for %s: %s", name, scope, level)
			}
		}
		for _, s := range job.Steps {
			install = install || pinned.MatchString(strings.TrimSpace(s.Run))
			scan = scan || strings.TrimSpace(s.Run) == "govulncheck ./..."
		}
	}
	if !install || !scan {
		t.Errorf("no step installs a pinned govulncheck (%v) or runs govulncheck ./... (%v)", install, scan)
	}
}
