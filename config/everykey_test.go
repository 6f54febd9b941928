package config

import (
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// keySite is one key of the schema as a test writes it: the table header
// that holds it and the dotted path of the key in a document built on base.
type keySite struct {
	header, key, path string
}

// everyKey lists every key the decoder reads, in every table that reads
// it, so that a key added to the schema is covered without a test naming it.
func everyKey() []keySite {
	var out []keySite
	for k, headers := range keyTables() {
		for _, h := range headers {
			out = append(out, keySite{header: h, key: k, path: sitePath(h, k)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

// sitePath is the path of key k in the table written as header, for a
// document built by withKey: base has one upstream and one route, and
// withKey adds the one extra issuer.
func sitePath(header, k string) string {
	name := strings.Trim(header, "[]")
	if strings.HasPrefix(header, "[[") {
		name += "[0]"
	}
	return joinKey(name, k)
}

// withKey returns base with the line "k = v" in the table written as
// header (added at the end when base has none), and the line it is on.
func withKey(header, line string) (string, int) {
	lines := strings.Split(base, "\n")
	key := line[:strings.IndexByte(line, ' ')+1]
	for i, l := range lines {
		if l != header {
			continue
		}
		// base's own line for the key is replaced: TOML refuses a repeat.
		for j := i + 1; j < len(lines) && lines[j] != "" && lines[j][0] != '['; j++ {
			if strings.HasPrefix(lines[j], key) {
				lines[j] = line
				return strings.Join(lines, "\n"), j + 1
			}
		}
		doc := strings.Join(append(lines[:i+1:i+1], append([]string{line}, lines[i+1:]...)...), "\n")
		return doc, i + 2
	}
	return base + header + "\n" + line + "\n", strings.Count(base, "\n") + 2
}

// parseProblems parses doc and returns its problems (nil when it loads).
func parseProblems(t *testing.T, dir, doc string, env map[string]string) Problems {
	t.Helper()
	_, err := Parse(filepath.Join(dir, "cfg.toml"), []byte(doc), envOf(env))
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %T: %v", err, err)
	}
	return ps
}

// refusedAt reports whether a problem of ps is on line and about the key
// at path (or an element or entry of it).
func refusedAt(ps Problems, line int, path string) bool {
	for _, p := range ps {
		if p.Line == line && (p.Key == path || strings.HasPrefix(p.Key, path+"[") || strings.HasPrefix(p.Key, path+".")) {
			return true
		}
	}
	return false
}

// TestEveryKeyBadInputs writes, for every key the decoder reads, the bad
// values users write: each is refused on the key's line, naming the key,
// and every problem (checkProblems) names a line of the file and shows no
// secret. The values with a control character carry fuzzSecret: a refusal
// never shows the value, as any key may hold a secret through ${VAR}.
func TestEveryKeyBadInputs(t *testing.T) {
	dir := t.TempDir()
	refused := []string{
		`[1, "a"]`, `"${UNSET_GF}"`,
		`"` + fuzzSecret + `\n"`, `"a\u0000` + fuzzSecret + `"`, `"\u001b[2J` + fuzzSecret + `"`,
		`["` + fuzzSecret + `\n"]`, `{ a = "` + fuzzSecret + `\r" }`,
	}
	types := []string{`"x"`, `true`, `7`, `["x"]`, `{ a = "x" }`}
	for _, s := range everyKey() {
		check := func(line string) (Problems, int, string) {
			doc, n := withKey(s.header, line)
			ps := parseProblems(t, dir, doc, nil)
			checkProblems(t, doc, ps)
			return ps, n, doc
		}
		for _, v := range refused {
			if ps, n, doc := check(s.key + " = " + v); !refusedAt(ps, n, s.path) {
				t.Errorf("%s = %s: not refused on line %d; problems %q\n%s", s.path, v, n, ps, doc)
			}
		}
		wrongType := 0
		for _, v := range types {
			if ps, n, _ := check(s.key + " = " + v); refusedAt(ps, n, s.path) {
				wrongType++
			}
		}
		if wrongType < len(types)-1 {
			t.Errorf("%s: only %d of the values %q refused on its line; every key takes one type", s.path, wrongType, types)
		}
		ps, n, doc := check(s.key + " = \"x\"\n" + s.key + ` = "y"`)
		if !refusedAt(ps, n+1, s.path) || !strings.Contains(ps.Error(), "already defined") {
			t.Errorf("%s repeated: problems %q\n%s", s.path, ps, doc)
		}
		wrong := "[log]"
		if s.header == wrong {
			wrong = "[branding]"
		}
		doc, n = withKey(wrong, s.key+` = "x"`)
		ps = parseProblems(t, dir, doc, nil)
		msg := ps.Error()
		if !refusedAt(ps, n, sitePath(wrong, s.key)) || !strings.Contains(msg, "unknown key; it is a key of ") || !strings.Contains(msg, s.header) {
			t.Errorf("%s in %s: problems %q, want it named a key of %s", s.path, wrong, ps, s.header)
		}
	}
}

// TestEveryKeyTypoSuggested: a typo of a key the table does not set (one
// letter left out) is refused with that key as the suggestion.
func TestEveryKeyTypoSuggested(t *testing.T) {
	dir := t.TempDir()
	set, err := indexLines([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range everyKey() {
		if _, inBase := set[s.path]; inBase {
			continue // base sets it: the suggestion is for a key the file lacks
		}
		typo := s.key[:len(s.key)/2] + s.key[len(s.key)/2+1:]
		doc, n := withKey(s.header, typo+` = "x"`)
		ps := parseProblems(t, dir, doc, nil)
		want := "unknown key; did you mean " + s.key + "?"
		if !refusedAt(ps, n, sitePath(s.header, typo)) || !strings.Contains(ps.Error(), want) {
			t.Errorf("%s written %s: problems %q, want %q", s.path, typo, ps, want)
		}
	}
}
