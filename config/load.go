package config

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Load reads, validates and translates the configuration file at path.
// getenv looks up the variables that ${NAME} expansions name (os.LookupEnv in
// production). The error is Problems, listing every problem in line order,
// or a plain error when the file cannot be read. Load never dials anything.
func Load(path string, getenv func(string) (string, bool)) (*Config, error) {
	data, err := ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse is Load for a document already in memory; path names it in problems
// and is the base of relative file paths in it.
func Parse(path string, data []byte, getenv func(string) (string, bool)) (*Config, error) {
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	// Windows editors may save a UTF-8 byte-order mark first.
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(path, data, err)}
	}
	w, err := walkLines(data)
	if err != nil { // unreachable: Unmarshal accepted the same document
		return nil, Problems{{File: path, Key: "toml", Msg: err.Error()}}
	}
	d := &decoder{file: path, dir: filepath.Dir(path), lines: w.idx, headed: w.headed, lastLine: lastLine(data), getenv: getenv}
	fc := d.decodeFile(doc)
	cfg := d.build(fc)
	d.warnInlineSecrets()
	if len(d.problems) > 0 {
		sortProblems(d.problems)
		return nil, d.problems
	}
	sortProblems(d.warnings)
	for _, w := range d.warnings {
		w.Msg = "warning: " + w.Msg
		cfg.Warnings = append(cfg.Warnings, w.String())
	}
	return cfg, nil
}

// lastLine is the number of the last line of data: 1 for an empty file,
// and a final line feed does not start another line.
func lastLine(data []byte) int {
	return bytes.Count(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) + 1
}

// syntaxProblem turns a TOML decoding error into a Problem with its line.
func syntaxProblem(path string, data []byte, err error) Problem {
	p := Problem{File: path, Key: "toml", Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		p.Line = line
		if k := de.Key(); len(k) > 0 {
			p.Key = fullKey(data, p.Line, k[len(k)-1])
		}
		if openedAt(&p, data) {
			syntaxKey(&p, data)
			return p
		}
		opens := syntaxKey(&p, data)
		redactSyntax(&p, linesOf(data, max(min(opens, p.Line), 1), p.Line))
		if h, ok := syntaxHints[p.Msg]; ok {
			p.Msg += ": " + h
		}
		where := fmt.Sprintf("column %d", runeColumn(data, lineStart(data, line)+col-1))
		if opens > 0 && opens < p.Line {
			where += fmt.Sprintf("; the value opens on line %d", opens)
		}
		p.Msg += " (" + where + ")"
	}
	return p
}

// lineStart is the offset of the first byte of the 1-based line in data.
func lineStart(data []byte, line int) int {
	start := 0
	for n := 1; n < line; n++ {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			break
		}
		start += i + 1
	}
	return start
}

// runeColumn is the 1-based column of the byte at offset as an editor
// shows it: characters, not bytes, from the start of its line. go-toml
// counts bytes, and a line holding "é" or "→" before the mistake sent the
// reader that many places too far right.
func runeColumn(data []byte, offset int) int {
	offset = min(max(offset, 0), len(data))
	start := bytes.LastIndexByte(data[:offset], '\n') + 1
	return utf8.RuneCount(data[start:offset]) + 1
}

// openedAt moves a multi-line string left open from the line where the
// parser gave up (the file's end) to the line that opens it, where the fix
// is: in a long file, "line 300: not terminated" did not say which of its
// strings. The opening is the delimiter's last occurrence: an open string
// runs to the end, and cannot hold its own delimiter unescaped. It reports
// whether it moved the problem (the column it names is then the opening's).
func openedAt(p *Problem, data []byte) bool {
	for _, delim := range []string{`"""`, `'''`} {
		if !strings.HasSuffix(p.Msg, "not terminated by "+delim) {
			continue
		}
		i := lastDelimiter(data, delim)
		if line := bytes.Count(data[:max(i, 0)], []byte("\n")) + 1; i >= 0 && line < p.Line {
			p.Msg += fmt.Sprintf(" (it opens on this line, column %d; the parser reached line %d)", runeColumn(data, i), p.Line)
			p.Line = line
			return true
		}
	}
	return false
}

// lastDelimiter is the index of delim's last occurrence in data that is
// no escaped quote followed by two more: an open basic string may hold
// \""" (the parser reads an escaped quote and two quotes), a literal one no
// escapes. -1 when there is none.
func lastDelimiter(data []byte, delim string) int {
	i := len(data)
	for {
		i = bytes.LastIndex(data[:i], []byte(delim))
		if i < 0 || delim != `"""` || !escapedAt(data, i) {
			return i
		}
	}
}

// escapedAt reports whether data[i] follows an odd run of backslashes.
func escapedAt(data []byte, i int) bool {
	n := 0
	for i-n > 0 && data[i-n-1] == '\\' {
		n++
	}
	return n%2 == 1
}

// fullKey finds the full path of key for a decoding error on line (a
// duplicate key), whose own key is relative to its table. It falls back to
// key itself.
func fullKey(data []byte, line int, key string) string {
	idx, err := indexLines(data)
	if err != nil {
		return joinKey("", key)
	}
	// The first definition of a duplicated key is the closest one above.
	best, bestLine := "", 0
	for path, l := range idx {
		if l <= line && l > bestLine && (path == joinKey("", key) || strings.HasSuffix(path, "."+joinKey("", key))) {
			best, bestLine = path, l
		}
	}
	if best == "" {
		return joinKey("", key) // quoted as written: an empty key is `""`, not nothing
	}
	return best
}

// sortProblems orders problems by line, keeping the order of problems found
// on one line.
func sortProblems(ps Problems) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

// lineIndex maps a dotted key path ("server.listen", "routes[2].path",
// "provider.auth_params.hd", "session.secrets[1]") to the line it is written
// on. A table's path maps to the line of its header.
type lineIndex map[string]int

// indexLines walks the document with go-toml's unstable parser and records
// the line of every key, table header and array element.
func indexLines(data []byte) (lineIndex, error) {
	w, err := walkLines(data)
	return w.idx, err
}

// walkLines is indexLines, keeping the keys written below a header too
// (lineWalker.headed).
func walkLines(data []byte) (*lineWalker, error) {
	w := &lineWalker{idx: lineIndex{}, arrays: map[string]int{}, headed: map[string]bool{}}
	for i, c := range data {
		if c == '\n' {
			w.newlines = append(w.newlines, i)
		}
	}
	w.p.Reset(data)
	for w.p.NextExpression() {
		e := w.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, line := w.keyOf(e)
			w.table = w.header(keys, line, e.Kind == unstable.ArrayTable)
			w.doneLine = line
		case unstable.KeyValue:
			w.noteHeaded(e)
			w.keyValue(w.table, e)
			w.doneLine = w.endLine(e.Raw)
		}
	}
	return w, w.p.Error()
}

type lineWalker struct {
	p      unstable.Parser
	idx    lineIndex
	arrays map[string]int  // array-of-tables path -> number of elements so far
	table  string          // path of the current table ("" = root)
	headed map[string]bool // paths of keys written as one part below a header (noteHeaded)
	// doneLine is the last line of the last expression read: where the
	// parser stood when it stopped (syntaxKey).
	doneLine int
	// newlines are the offsets of the document's line feeds: a node's line
	// is found by binary search, not by counting from the start each time.
	newlines []int
}

func (w *lineWalker) line(n *unstable.Node) int {
	if n.Raw.Length == 0 {
		return 0
	}
	return sort.SearchInts(w.newlines, int(n.Raw.Offset)) + 1
}

// endLine is the line of the last byte of r.
func (w *lineWalker) endLine(r unstable.Range) int {
	return sort.SearchInts(w.newlines, int(r.Offset+r.Length)-1) + 1
}

// keyOf returns the parts of a node's (possibly dotted) key and its line.
func (w *lineWalker) keyOf(n *unstable.Node) ([]string, int) {
	var keys []string
	line := 0
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = w.line(k)
		}
		keys = append(keys, string(k.Data))
	}
	return keys, line
}

// record keeps the first line seen for path.
func (w *lineWalker) record(path string, line int) {
	if _, ok := w.idx[path]; !ok && line > 0 {
		w.idx[path] = line
	}
}

// header resolves a [table] or [[array]] header to its path; parts that name
// an array of tables refer to its last element, as TOML specifies.
func (w *lineWalker) header(keys []string, line int, array bool) string {
	path := ""
	for i, k := range keys {
		path = joinKey(path, k)
		if array && i == len(keys)-1 {
			n := w.arrays[path]
			w.arrays[path] = n + 1
			w.record(path, line)
			path = fmt.Sprintf("%s[%d]", path, n)
		} else if n, ok := w.arrays[path]; ok {
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
		w.record(path, line)
	}
	w.idx[path] = line
	return path
}

// keyValue records a key = value line under table, then the value's inner
// keys and elements.
func (w *lineWalker) keyValue(table string, kv *unstable.Node) {
	keys, line := w.keyOf(kv)
	path := table
	for _, k := range keys {
		path = joinKey(path, k)
		w.record(path, line)
	}
	w.value(path, kv.Value(), line)
}

func (w *lineWalker) value(path string, v *unstable.Node, line int) {
	switch v.Kind {
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			el := it.Node()
			if el.Kind == unstable.Comment {
				continue
			}
			elLine := w.line(el)
			if elLine == 0 {
				elLine = line
			}
			elPath := fmt.Sprintf("%s[%d]", path, i)
			w.record(elPath, elLine)
			w.value(elPath, el, elLine)
			i++
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				w.keyValue(path, kv)
			}
		}
	}
}

// joinKey appends one key to a dotted path. Keys that are not bare TOML keys
// are quoted, so that a header name such as "X-Forwarded-Tenant" stays one part.
func joinKey(path, key string) string {
	if !isBareKey(key) {
		key = fmt.Sprintf("%q", key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func isBareKey(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
