package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// fuzzSecret is the value every secret key of a generated document gets
// (client_secret, redis_password, session secrets): no problem may show it.
const fuzzSecret = "Zq9fuzzSECRETvalue4Kt"

// fuzzValues are the values a generated key may get: every TOML type, and
// strings the validators parse (URLs, durations, paths, hosts, ${VAR}).
var fuzzValues = []string{
	`""`, `"x"`, `0`, `-1`, `7`, `99999999999`, `true`, `false`, `1.5`, `1979-05-27`,
	`[]`, `["x"]`, `[1]`, `[""]`, `{}`, `{ a = "b" }`, `{ a = 1 }`, `{ "X-T" = [1] }`,
	`"https://a.example"`, `"http://127.0.0.1:3000"`,
	`"/**"`, `"/a/*"`, `"/a/**/b"`, `"a.example"`,
	`"*.example.com"`, `"90s"`, `"-1ns"`, `"0s"`, `"99999h"`, `"${X}"`, `"${E}"`, `"${UNSET}"`,
	`"${"`, `"$$"`, `"cfg.toml"`, `"missing.pem"`, `":4180"`, `"127.0.0.1:9180"`, `"redis"`, `"cookie"`,
	`"GET"`, `"json"`, `"debug"`, `"google"`, `"github"`, `"entra"`, `"__Host-p"`,
	`["` + goodSecret + `"]`, `["10.0.0.0/8"]`, `["GET", "TRACE"]`, `"\u0000\n"`,
}

// fuzzUserinfo are values with a password in them, for the keys that take
// a URL or an address (issuer, redis_url, redis_cluster_addrs, ...).
var fuzzUserinfo = []string{
	`"https://u:` + fuzzSecret + `@h.example/"`, `"redis://:` + fuzzSecret + `@127.0.0.1:6379/0"`,
	`"redis://:` + fuzzSecret + `@[::1"`, `["u:` + fuzzSecret + `@h:1"]`, `"u:` + fuzzSecret + `@h:1"`,
}

// fuzzKeys is the real key set: every key the decoder reads, with the
// tables that read it, in a fixed order so that a byte picks the same key
// in every run.
func fuzzKeys() (tables []string, keysOf map[string][]string) {
	keysOf = map[string][]string{}
	for k, names := range keyTables() {
		for _, n := range names {
			keysOf[n] = append(keysOf[n], k)
		}
	}
	for n, ks := range keysOf {
		sort.Strings(ks)
		tables = append(tables, n)
	}
	sort.Strings(tables)
	return tables, keysOf
}

// fuzzDoc builds a TOML document from prog: each pair of bytes picks a
// table header (or stays in the current table) and a key = value, with the
// odd unknown or misspelt key and a repeated header or key.
func fuzzDoc(prog []byte) string {
	tables, keysOf := fuzzKeys()
	var b strings.Builder
	table := ""
	for i := 0; i+2 < len(prog); i += 3 {
		op, k, v := int(prog[i]), int(prog[i+1]), int(prog[i+2])
		if op%4 == 0 || table == "" {
			table = tables[op/4%len(tables)]
			fmt.Fprintf(&b, "%s\n", table)
		}
		ks := keysOf[table]
		key := ks[k%len(ks)]
		switch op % 8 {
		case 5:
			key = key[:len(key)-1] // a typo
		case 7:
			key = "unknown_" + key
		}
		val := fuzzValues[v%len(fuzzValues)]
		if strings.HasSuffix(key, "url") || strings.HasSuffix(key, "addrs") || key == "issuer" {
			if v%3 == 0 {
				val = fuzzUserinfo[v/3%len(fuzzUserinfo)]
			}
		}
		switch key {
		case "client_secret", "redis_password":
			val = `"` + fuzzSecret + `"`
		case "secrets":
			val = `["` + fuzzSecret + `", "` + goodSecret + `"]`
		}
		fmt.Fprintf(&b, "%s = %s\n", key, val)
	}
	return b.String()
}

// FuzzKeys: a document built from the real keys, right and wrong values,
// typos and repeats never panics, and every problem names an existing line
// of it and a key, and never shows a secret's value.
func FuzzKeys(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 4, 1, 1, 8, 2, 2, 12, 3, 3})
	f.Add([]byte("portcullis config fuzz: keys and values, tables and typos"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, prog []byte) {
		doc := fuzzDoc(prog)
		_, err := Parse(filepath.Join(dir, "cfg.toml"), []byte(doc), envOf(map[string]string{"X": "v", "E": ""}))
		if err == nil {
			return
		}
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error %T: %v", err, err)
		}
		checkProblems(t, doc, ps)
	})
}

// checkProblems fails unless every problem names a line of doc and a key,
// and shows no secret value.
func checkProblems(t *testing.T, doc string, ps Problems) {
	t.Helper()
	last := lastLine([]byte(doc))
	lines := strings.Split(doc, "\n")
	for _, p := range ps {
		if p.Line < 1 || p.Line > last {
			t.Errorf("problem %q names line %d; the document has lines 1 to %d:\n%s", p, p.Line, last, doc)
		}
		if p.Key == "" {
			t.Errorf("problem %q names no key:\n%s", p, doc)
		} else if p.Line >= 1 && p.Line <= last && !lineNames(lines[p.Line-1], p.Key) && !(absent(doc, p.Key) && p.Line == last) {
			t.Errorf("problem %q: line %d (%q) names neither the key nor a table of it:\n%s", p, p.Line, lines[p.Line-1], doc)
		}
		if strings.Contains(p.String(), fuzzSecret) {
			t.Errorf("problem %q shows a secret:\n%s", p, doc)
		}
	}
}

// lineNames reports whether line writes key ("routes[2].path") or one of
// the tables that hold it: a problem about a key the file leaves out names
// its table's header. TOML syntax problems name the line they found.
func lineNames(line, key string) bool {
	if key == "toml" {
		return true
	}
	for ; key != ""; key = parentPath(key) {
		name := key[strings.LastIndexAny(key, ".")+1:]
		if i := strings.IndexByte(name, '['); i >= 0 {
			name = name[:i]
		}
		if strings.Contains(line, strings.Trim(name, `"`)) {
			return true
		}
	}
	return false
}

// absent reports whether doc writes neither key nor any table holding it:
// such a problem names the last line, where the table would be added.
func absent(doc, key string) bool {
	idx, err := indexLines([]byte(doc))
	if err != nil {
		return false
	}
	return (&decoder{lines: idx}).lineOf(key) == 0
}
