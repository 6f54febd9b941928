package main

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The CLI reference of docs/operations.md (## Commands) and the --help texts
// are one set of commands and flags, and every "portcullis COMMAND --flag"
// the documentation shows is a flag that command accepts: a flag renamed or
// added in the code and not in the docs (or the reverse) fails here.

// docCommands are the commands a user runs, as the docs name them.
var docCommands = []string{"serve", "demo", "check", "sessions list", "sessions revoke", "groups", "version"}

func TestDocsCommandsTableIsTheHelp(t *testing.T) {
	if got := mainHelpCommands(t); !slices.Equal(got, docCommands) {
		t.Fatalf("portcullis --help lists the commands %q; the test knows %q", got, docCommands)
	}
	table := commandsTable(t)
	if got := slices.Sorted(maps.Keys(table)); !slices.Equal(got, slices.Sorted(slices.Values(docCommands))) {
		t.Errorf("docs/operations.md#commands lists the commands %q, --help %q", got, docCommands)
	}
	for _, c := range docCommands {
		if doc, help := table[c], helpFlags(t, c); !slices.Equal(doc, help) {
			t.Errorf("docs/operations.md#commands gives %q the flags %q; its --help %q", c, doc, help)
		}
	}
	if got := exitCodeCommands(t); !slices.Equal(got, slices.Sorted(slices.Values(docCommands))) {
		t.Errorf("the exit codes table of docs/operations.md#commands has rows for %q, want one for each of %q", got, docCommands)
	}
}

// exitCodeCommands are the commands of the "| command | exit codes |"
// table in docs/operations.md, sorted, each once.
func exitCodeCommands(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rows, ok := strings.Cut(string(b), "\n| command | exit codes |\n")
	if !ok {
		t.Fatal("docs/operations.md has no exit codes table")
	}
	var out []string
	for _, line := range strings.Split(rows, "\n") {
		if !strings.HasPrefix(line, "| `") {
			if len(out) > 0 {
				break
			}
			continue
		}
		for _, u := range commandLines("portcullis " + strings.TrimPrefix(line, "| `")) {
			out = append(out, u.command)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestDocsCommandLinesUseRealFlags: every command line in the Markdown uses
// only flags of its command.
func TestDocsCommandLinesUseRealFlags(t *testing.T) {
	help := map[string][]string{}
	for _, c := range docCommands {
		help[c] = helpFlags(t, c)
	}
	n := 0
	root := filepath.Join("..", "..")
	for _, file := range docFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range commandLines(string(b)) {
			n++
			for _, f := range u.flags {
				if !slices.Contains(help[u.command], f) {
					t.Errorf("%s:%d: portcullis %s has no flag --%s", file, u.line, u.command, f)
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d command lines in the docs; the pattern no longer matches them", n)
	}
}

func TestCommandLines(t *testing.T) {
	md := "Run `portcullis check --config FILE --strict`, then --nope.\n" +
		"```sh\nportcullis sessions revoke --config c.toml \\\n  --sub x --every\nportcullis version\n```\n" +
		"`portcullis groups` lists; `portcullis sessions` alone prints usage.\n"
	var got []string
	for _, u := range commandLines(md) {
		got = append(got, u.command+" "+strings.Join(u.flags, ","))
	}
	want := []string{"check config,strict", "sessions revoke config,sub,every", "version ", "groups "}
	if !slices.Equal(got, want) {
		t.Errorf("command lines %q, want %q", got, want)
	}
}

type commandLine struct {
	line    int
	command string
	flags   []string
}

var (
	commandStart = regexp.MustCompile(`portcullis (sessions (?:list|revoke)|serve|demo|check|groups|version)\b`)
	flagWord     = regexp.MustCompile(`(?:^|[\s\[(|])--([a-z][a-z-]*)`)
)

// commandLines finds "portcullis COMMAND ..." in md and the flags written
// after it up to the end of its code span or line; a line ending in a
// backslash continues on the next.
func commandLines(md string) []commandLine {
	lines := strings.Split(md, "\n")
	var out []commandLine
	for i := 0; i < len(lines); i++ {
		for _, m := range commandStart.FindAllStringSubmatchIndex(lines[i], -1) {
			rest := lines[i][m[1]:]
			for j := i; strings.HasSuffix(strings.TrimSpace(rest), `\`) && j+1 < len(lines); j++ {
				rest += " " + lines[j+1]
			}
			if k := strings.IndexByte(rest, '`'); k >= 0 {
				rest = rest[:k]
			}
			u := commandLine{line: i + 1, command: lines[i][m[2]:m[3]]}
			for _, f := range flagWord.FindAllStringSubmatch(rest, -1) {
				u.flags = append(u.flags, f[1])
			}
			out = append(out, u)
		}
	}
	return out
}

// commandsTable reads the first table under "## Commands" in
// docs/operations.md: command to the flags its row shows, sorted.
func commandsTable(t *testing.T) map[string][]string {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Commands\n")
	if !ok {
		t.Fatal("docs/operations.md has no ## Commands section")
	}
	table := map[string][]string{}
	for _, line := range strings.Split(strings.TrimLeft(section, "\n"), "\n") {
		if !strings.HasPrefix(line, "|") {
			if len(table) > 0 {
				break
			}
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "|"), "` |")
		for _, u := range commandLines(cell) {
			flags := slices.Sorted(slices.Values(u.flags))
			table[u.command] = slices.Compact(flags)
		}
	}
	return table
}

// helpFlags are the flags "portcullis COMMAND --help" shows, sorted.
func helpFlags(t *testing.T, command string) []string {
	r := invoke(t, nil, append(strings.Fields(command), "--help")...)
	if r.code != 0 {
		t.Fatalf("%s --help: exit %d, %s", command, r.code, r.stderr)
	}
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  --([a-z-]+)`).FindAllStringSubmatch(r.stdout, -1) {
		flags = append(flags, m[1])
	}
	slices.Sort(flags)
	return flags
}

// mainHelpCommands are the commands "portcullis --help" lists, in order.
func mainHelpCommands(t *testing.T) []string {
	r := invoke(t, nil, "--help")
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z]+)(?: ([a-z]+(?:\|[a-z]+)+))?(?:\s|$)`).FindAllStringSubmatch(r.stdout, -1) {
		if m[2] == "" {
			out = append(out, m[1])
			continue
		}
		for _, sub := range strings.Split(m[2], "|") {
			out = append(out, m[1]+" "+sub)
		}
	}
	return out
}

// docFiles are the repository's Markdown files, relative to root.
func docFiles(t *testing.T, root string) []string {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
