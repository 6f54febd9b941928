package portcullis_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/portcullis/portcullis/internal/testenv"
)

// The repository explains itself: every relative link in its Markdown
// resolves to a file in the repository, every #anchor to a heading of its
// target, and nothing points outside the clone (docs/README.md).

// markdownFiles are the documents whose links are checked, relative to the
// repository root.
func markdownFiles(tb testing.TB, root string) []string {
	tb.Helper()
	files := []string{"README.md", "CHANGELOG.md", "SECURITY.md", "charts/portcullis/README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

func TestDocsLinksResolve(t *testing.T) {
	root := "."
	for _, file := range markdownFiles(t, root) {
		for _, p := range checkLinks(root, file) {
			t.Error(p)
		}
	}
}

// TestDocsLinkChecker runs the checker on a small tree, so that a checker
// that passes everything cannot pass this test.
func TestDocsLinkChecker(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("guide/b.md", "# B\n\n## The `[server]` table\n\n## Tracing (OpenTelemetry)\n\n## Dup\n\n## Dup\n")
	write("README.md", strings.Join([]string{
		"[ok](guide/b.md) [ok](guide/b.md#the-server-table) [ok](guide/b.md#tracing-opentelemetry)",
		"[ok](guide/b.md#dup-1) [ok](#self) [ok](https://example.com/x.md) [ok](guide/)",
		"`[code](nowhere.md)`",
		"```",
		"[fenced](nowhere.md)",
		"```",
		"# Self",
		"[missing](guide/c.md) [anchor](guide/b.md#nope) [outside](../outside/X.md)",
		"[deep](guide/../../x.md) [self-anchor](#none)",
		"[ref]: guide/missing.md",
		"[a link whose text",
		"wraps](guide/gone.md)",
	}, "\n"))
	got := checkLinks(root, "README.md")
	want := []string{
		`README.md:8: "guide/c.md": no such file`,
		`README.md:8: "guide/b.md#nope": no heading "nope" in guide/b.md`,
		`README.md:8: "../outside/X.md": points outside the repository`,
		`README.md:9: "guide/../../x.md": points outside the repository`,
		`README.md:9: "#none": no heading "none" in README.md`,
		`README.md:10: "guide/missing.md": no such file`,
		`README.md:11: "guide/gone.md": no such file`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHeadingSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Sign-out, back-channel logout, revocation": "sign-out-back-channel-logout-revocation",
		"`[[provider.extra_issuers]]`":              "providerextra_issuers",
		"Envoy `ext_authz` (HTTP service)":          "envoy-ext_authz-http-service",
		"`jwks.json`":                               "jwksjson",
		"[Link](x.md) text":                         "link-text",
		"Header size: 431, for one request at most": "header-size-431-for-one-request-at-most",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNoExternalContractCitations keeps the repository free of citations of
// a contract file that a clone does not have: the docs/ pages are the
// reference.
func TestNoExternalContractCitations(t *testing.T) {
	bad := externalCitation
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".md", ".yaml", ".yml", ".toml", ".tpl", ".txt", ".json", ".sh":
		default:
			if d.Name() != "Makefile" && d.Name() != "Dockerfile" {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if bad.MatchString(line) {
				t.Errorf("%s:%d: cites a file outside the repository: %s", p, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// externalCitation matches a citation of the contract, design or style
// files that live beside the repository, not in it. Built from pieces so
// that this file does not match itself.
var externalCitation = regexp.MustCompile(`\.\./` + `shared|\b(S` + `PEC|D` + `ESIGN|S` + `TYLE)(\.md|\s*§)`)

func TestExternalCitationPattern(t *testing.T) {
	for line, want := range map[string]bool{
		"see ../" + "shared/x":         true,
		"as S" + "PEC.md says":         true,
		"S" + "PEC §3":                 true,
		"D" + "ESIGN.md, the packages": true,
		"per S" + "TYLE.md":            true,
		"RFC 6749 §5.2":                false,
		"the pod spec":                 false,
		"docs/architecture.md":         false,
		"a DESIGNER.md or MYSTYLE.md":  false,
	} {
		if got := externalCitation.MatchString(line); got != want {
			t.Errorf("%q: match %v, want %v", line, got, want)
		}
	}
}

// TestFilesCiteExistingDocs: a docs/ page (and its #anchor) cited by a Go
// comment, the example configuration, the chart's templates and values or
// a script exists, as the Markdown links do.
func TestFilesCiteExistingDocs(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !citingFile.MatchString(d.Name()) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, why := range docCitationProblems(".", string(b)) {
			t.Errorf("%s %s", p, why)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("read only %d files", n)
	}
}

func TestDocCitationChecker(t *testing.T) {
	d := "docs/" // split, so that this file cites nothing broken itself
	text := "see " + d + "operations.md#metrics, " + d + "operations.md#nope, " + d + "gone.md and " + d + "headers.md."
	got := strings.Join(docCitationProblems(".", text), "\n")
	want := strings.Join([]string{
		`cites "` + d + `operations.md#nope": no heading "nope" in ` + d + `operations.md`,
		`cites "` + d + `gone.md": no such file`,
	}, "\n")
	if got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

var (
	// docCitation is a docs/ page named in text, with its anchor if any.
	docCitation = regexp.MustCompile(`\bdocs/[A-Za-z0-9_./-]+\.md(#[A-Za-z0-9_-]+)?`)
	// citingFile names the files other than Markdown that cite docs pages.
	citingFile = regexp.MustCompile(`\.(go|toml|ya?ml|txt|tpl|sh)$|^(Makefile|Dockerfile)$`)
)

// docCitationProblems checks each docs/ page text cites, from root.
func docCitationProblems(root, text string) []string {
	var out []string
	for _, m := range docCitation.FindAllString(text, -1) {
		if why := checkLink(root, "", m); why != "" {
			out = append(out, fmt.Sprintf("cites %q: %s", m, why))
		}
	}
	return out
}

var (
	// inlineLink matches [text](target) and ![alt](target); the target
	// ends at the first space (a title may follow) or ')'.
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)`)
	// refDef matches a reference definition: [label]: target
	refDef    = regexp.MustCompile(`^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)`)
	codeSpan  = regexp.MustCompile("`+[^`]*`+")
	urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// checkLinks returns the problems of the links in file (relative to root,
// slash-separated), one "file:line: "target": why" per broken link.
func checkLinks(root, file string) []string {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", file, err)}
	}
	var problems []string
	for _, l := range links(b) {
		if why := checkLink(root, file, l.target); why != "" {
			problems = append(problems, fmt.Sprintf("%s:%d: %q: %s", file, l.line, l.target, why))
		}
	}
	return problems
}

type link struct {
	line   int
	target string
}

// links lists the link targets of a Markdown document, outside fenced code
// blocks and code spans; a link's text may span lines.
func links(md []byte) []link {
	lines := strings.Split(string(md), "\n")
	fence := ""
	for i, line := range lines {
		if f := fenceMarker(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
			lines[i] = ""
			continue
		}
		if fence != "" {
			lines[i] = ""
			continue
		}
		lines[i] = codeSpan.ReplaceAllStringFunc(line, func(m string) string { return strings.Repeat(" ", len(m)) })
	}
	var out []link
	for i, line := range lines {
		if m := refDef.FindStringSubmatch(line); m != nil {
			out = append(out, link{i + 1, m[1]})
		}
	}
	text := strings.Join(lines, "\n")
	for _, m := range inlineLink.FindAllStringSubmatchIndex(text, -1) {
		line := 1 + strings.Count(text[:m[0]], "\n")
		out = append(out, link{line, text[m[2]:m[3]]})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].line < out[j].line })
	return out
}

// fenceMarker returns the fence (``` or ~~~, as long as written) that line
// opens or closes, or "".
func fenceMarker(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return ""
	}
	for _, c := range []string{"`", "~"} {
		if strings.HasPrefix(t, c+c+c) {
			return t[:len(t)-len(strings.TrimLeft(t, c))]
		}
	}
	return ""
}

// checkLink says what is wrong with target, a link in file, or "".
func checkLink(root, file, target string) string {
	if urlScheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return "" // an absolute URL
	}
	p, anchor, _ := strings.Cut(target, "#")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	resolved := file
	if p != "" {
		if strings.HasPrefix(p, "/") {
			resolved = path.Clean(strings.TrimPrefix(p, "/"))
		} else {
			resolved = path.Join(path.Dir(file), p)
		}
		if resolved == ".." || strings.HasPrefix(resolved, "../") {
			return "points outside the repository"
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(resolved))); err != nil {
			return "no such file"
		}
	}
	if anchor == "" {
		return ""
	}
	if !strings.HasSuffix(resolved, ".md") {
		return "" // anchors into other files (line numbers, ...) are not checked
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(resolved)))
	if err != nil {
		return err.Error()
	}
	if !headingAnchors(b)[strings.ToLower(anchor)] {
		return fmt.Sprintf("no heading %q in %s", anchor, resolved)
	}
	return ""
}

// headingAnchors returns the anchors GitHub gives the ATX headings of md
// (outside fenced code), duplicates numbered -1, -2, ...
func headingAnchors(md []byte) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	fence := ""
	for _, line := range strings.Split(string(md), "\n") {
		if f := fenceMarker(line); f != "" {
			switch {
			case fence == "":
				fence = f
			case strings.HasPrefix(f, fence):
				fence = ""
			}
			continue
		}
		if fence != "" {
			continue
		}
		t := strings.TrimLeft(line, " ")
		if len(line)-len(t) > 3 || !strings.HasPrefix(t, "#") {
			continue
		}
		text := strings.TrimLeft(t, "#")
		if len(t)-len(text) > 6 || (text != "" && text[0] != ' ' && text[0] != '\t') {
			continue
		}
		text = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(text), "#"))
		s := slug(text)
		if n := seen[s]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

// mdLinkText replaces [text](url) by text, as the rendered heading shows.
var mdLinkText = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// slug is GitHub's heading anchor: the rendered text lower-cased, spaces
// turned into '-', and every character that is not a letter, a digit, '-'
// or '_' dropped.
func slug(heading string) string {
	text := mdLinkText.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestConfigurationDocumentsEveryKey checks that every key the config
// package decodes is named in docs/configuration.md, so that a key added to
// the schema without its documentation fails here.
func TestConfigurationDocumentsEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	keys := testenv.ConfigKeys(t, "config")
	for _, k := range keys {
		if !bytes.Contains(doc, []byte("`"+k+"`")) && !bytes.Contains(doc, []byte("."+k+"]]`")) &&
			!bytes.Contains(doc, []byte("`[["+k+"]]`")) {
			t.Errorf("docs/configuration.md does not name the key %q", k)
		}
	}
}

// TestReadmeAnswersOperatorQuestions: an operator's day-2 questions
// (upgrade, rotations, replicas, alerts, logs, a refusal, Redis backups,
// oauth2-proxy) each have an answer one link away from the README, so that
// a section renamed or dropped fails here, not in production.
func TestReadmeAnswersOperatorQuestions(t *testing.T) {
	md, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range links(md) {
		have[l.target] = true
	}
	for _, want := range []string{
		"docs/operations.md#upgrading",
		"docs/sessions.md#rotating-the-secrets-across-replicas",
		"docs/headers.md#rotating-the-key",
		"docs/operations.md#several-replicas",
		"docs/operations.md#what-to-alert-on",
		"docs/operations.md#log-fields",
		"docs/operations.md#why-was-a-request-refused",
		"docs/operations.md#backing-up-redis",
		"docs/sessions.md#sign-out-and-revocation",
		"docs/oauth2-proxy.md",
	} {
		if !have[want] {
			t.Errorf("README.md does not link to %s", want)
		}
	}
}
