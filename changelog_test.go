package portcullis_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The CHANGELOG's Unreleased section says what the code does now, once per
// change: an entry written twice (once per area, or once per commit of one
// change) leaves the reader to find out which of the two still holds.

func TestChangelogUnreleasedEntriesDistinct(t *testing.T) {
	b, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	entries := unreleasedEntries(string(b))
	if len(entries) < 10 {
		t.Fatalf("read only %d entries of ## Unreleased", len(entries))
	}
	for _, p := range repeatedEntries(entries) {
		t.Error(p)
	}
}

// TestChangelogRepeatChecker runs the checker on a small changelog, so that
// a checker that passes everything cannot pass this test.
func TestChangelogRepeatChecker(t *testing.T) {
	md := strings.Join([]string{
		"# Changelog", "", "## Unreleased", "",
		"- Docs (operations): what to alert on when the provider goes down while the gateway",
		"  runs: sign-ins start and never come back.",
		"- Fix (logs): a 502 names the upstream.",
		"- Docs (operations), Helm chart: what to alert on when the provider goes down while",
		"  the gateway runs, and the chart's rule.",
		"", "## 1.0.0", "",
		"- Fix (logs): a 502 names the upstream.",
	}, "\n")
	entries := unreleasedEntries(md)
	if len(entries) != 3 {
		t.Fatalf("entries = %q, want 3", entries)
	}
	got := strings.Join(repeatedEntries(entries), "\n")
	want := `entries 1 and 3 of ## Unreleased say the same: "what to alert on when the provider goes down while"`
	if got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// unreleasedEntries returns the entries of md's "## Unreleased" section,
// each joined into one line.
func unreleasedEntries(md string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.TrimSpace(line) == "## Unreleased"
		case !in:
		case strings.HasPrefix(line, "- "):
			out = append(out, strings.TrimPrefix(line, "- "))
		case len(out) > 0 && strings.TrimSpace(line) != "":
			out[len(out)-1] += " " + strings.TrimSpace(line)
		}
	}
	return out
}

// repeatedEntries names the pairs of entries whose statements (the text
// after the "Kind (area):" label) begin with the same ten words.
func repeatedEntries(entries []string) []string {
	var problems []string
	first := map[string]int{}
	for i, e := range entries {
		if _, rest, ok := strings.Cut(e, ": "); ok {
			e = rest
		}
		words := strings.Fields(strings.ToLower(e))
		if len(words) < 10 {
			continue
		}
		key := strings.Join(words[:10], " ")
		if j, ok := first[key]; ok {
			problems = append(problems, fmt.Sprintf("entries %d and %d of ## Unreleased say the same: %q", j+1, i+1, key))
			continue
		}
		first[key] = i
	}
	return problems
}
