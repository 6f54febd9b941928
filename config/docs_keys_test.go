package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"
)

// docRow is one key of a table in docs/configuration.md with its
// documented default ("" when the table has no default column).
type docRow struct {
	table, key, def string
	line            int
}

var (
	docTableHeading = regexp.MustCompile("^#+ `(\\[\\[?[a-z_.]+\\]\\]?)`")
	docKey          = regexp.MustCompile("`([a-z_]+)`")
)

// docRows reads the key tables of docs/configuration.md: the rows under
// each "## `[table]`" heading (and its subheadings) whose first column
// names keys.
func docRows(t *testing.T) []docRow {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []docRow
	table, defCol := "", -1
	for i, line := range strings.Split(string(b), "\n") {
		if m := docTableHeading.FindStringSubmatch(line); m != nil {
			table, defCol = m[1], -1
			// "[[provider.extra_issuers]]" documents extra_issuers of [provider].
			if inner := strings.Trim(m[1], "[]"); strings.Contains(inner, ".") {
				parent, k := inner[:strings.LastIndexByte(inner, '.')], inner[strings.LastIndexByte(inner, '.')+1:]
				rows = append(rows, docRow{table: "[" + parent + "]", key: k, line: i + 1})
			}
			continue
		}
		if strings.HasPrefix(line, "## ") {
			table = "" // a section about no one table
			continue
		}
		if table == "" || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(line, "|")
		if strings.TrimSpace(cells[1]) == "key" {
			defCol = slices.IndexFunc(cells, func(c string) bool { return strings.TrimSpace(c) == "default" })
			continue
		}
		keys := docKey.FindAllStringSubmatch(cells[1], -1)
		def := ""
		if defCol > 0 && defCol < len(cells) {
			def = strings.TrimSpace(cells[defCol])
		}
		for _, k := range keys {
			rows = append(rows, docRow{table: table, key: k[1], def: def, line: i + 1})
		}
	}
	if len(rows) < 50 {
		t.Fatalf("found only %d keys in docs/configuration.md's tables; the pattern no longer matches", len(rows))
	}
	return rows
}

// TestDocumentedKeysExist: every key a table of docs/configuration.md
// lists is one the loader reads in that table, and every key the loader
// reads is listed in its table's section, so that a key renamed, moved or
// removed on either side fails here.
func TestDocumentedKeysExist(t *testing.T) {
	rows := docRows(t)
	tables := keyTables()
	documented := map[string]bool{}
	for _, r := range rows {
		documented[r.table+" "+r.key] = true
		if !slices.Contains(tables[r.key], r.table) {
			t.Errorf("docs/configuration.md:%d documents %s %s; the loader reads %s in %v", r.line, r.table, r.key, r.key, tables[r.key])
		}
	}
	for k, names := range tables {
		for _, n := range names {
			if !documented[n+" "+k] {
				t.Errorf("the loader reads %s in %s; docs/configuration.md's %s table does not list it", k, n, n)
			}
		}
	}
}

// TestDocumentedDefaults: a default documented as one TOML value (`":4180"`,
// `false`, `"30s"`, `[]`) is what the loader uses when the key is left
// out: writing it explicitly decodes to the same settings.
func TestDocumentedDefaults(t *testing.T) {
	checked := 0
	for _, r := range docRows(t) {
		if !strings.HasPrefix(r.def, "`") || !strings.HasSuffix(r.def, "`") || strings.Count(r.def, "`") != 2 {
			continue // required, derived or explained in words
		}
		val := strings.Trim(r.def, "`")
		if _, later := appliedLater[r.key]; later {
			continue
		}
		if toml.Unmarshal([]byte("v = "+val), new(map[string]any)) != nil {
			continue // a default in words, such as [client_id]
		}
		without, err1 := decodeOnly(r.table + "\n")
		with, err2 := decodeOnly(r.table + "\n" + r.key + " = " + val + "\n")
		if err1 != nil || err2 != nil {
			t.Errorf("docs/configuration.md:%d: %s %s = %s: %v %v", r.line, r.table, r.key, val, err1, err2)
			continue
		}
		if with != without {
			t.Errorf("docs/configuration.md:%d: %s %s documents the default %s; the loader's default differs:\nleft out: %s\nwritten:  %s", r.line, r.table, r.key, val, without, with)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("checked only %d defaults", checked)
	}
}

// appliedLater are defaults that the loader leaves empty and the package
// using the key applies, with why.
var appliedLater = map[string]string{
	"github_api_url": "with kind = \"github\" only: idp/directory applies GitHubAPIURL",
}

// decodeOnly decodes doc into the schema, without validation, and prints
// it (nil and empty lists print alike), or returns the decoding problems.
func decodeOnly(doc string) (string, error) {
	var m map[string]any
	if err := toml.Unmarshal([]byte(doc), &m); err != nil {
		return "", err
	}
	d := &decoder{file: "cfg.toml", dir: ".", getenv: func(string) (string, bool) { return "", false }}
	fc := d.decodeFile(m)
	if len(d.problems) > 0 {
		return "", d.problems
	}
	return fmt.Sprintf("%+v", *fc), nil
}
