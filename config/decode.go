package config

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// decoder turns the generic TOML document into the schema, collecting every
// problem with the line of the key it concerns.
type decoder struct {
	file      string
	dir       string // base of relative file paths: the config file's directory
	lines     lineIndex
	headed    map[string]bool // keys written as one part below a [header] (lineWalker.headed)
	lastLine  int             // the file's last line: where a table it lacks would go
	getenv    func(string) (string, bool)
	problems  Problems
	warnings  Problems
	problemAt map[string]bool // keys with a problem recorded
	inline    []string        // keys of secrets written into the file itself (noteInline)

	record    map[string][]string // keyTables' recorder: the tables that read each key
	keyTables map[string][]string // keyTables(), once a key is unknown
}

// lineOf returns the line of path, or of its closest enclosing key or table
// that the file contains (so a missing key names its table's header), or 0.
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last ".key" or "[i]" of path, honouring quoted keys.
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	inQuote := false
	last := -1
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '"':
			inQuote = !inQuote
		case '\\':
			if inQuote {
				i++
			}
		case '.':
			if !inQuote {
				last = i
			}
		}
	}
	if last < 0 {
		return ""
	}
	return path[:last]
}

// problem records a problem about the key at path. Only the first problem of
// a key is kept: a value that failed to expand is not also "required".
func (d *decoder) problem(path, format string, args ...any) {
	if d.problemAt[path] {
		return
	}
	if d.problemAt == nil {
		d.problemAt = map[string]bool{}
	}
	d.problemAt[path] = true
	d.problems = append(d.problems, d.at(path, fmt.Sprintf(format, args...)))
}

// warn records a non-fatal remark about the key at path.
func (d *decoder) warn(path, format string, args ...any) {
	d.warnings = append(d.warnings, d.at(path, fmt.Sprintf(format, args...)))
}

// at places a remark about path on a line: the key's, else its closest
// enclosing table's. When the file has neither (a required table left out),
// the remark names the file's last line, where the table would be added,
// and says which table to add.
func (d *decoder) at(path, msg string) Problem {
	p := Problem{File: d.file, Line: d.lineOf(path), Key: path, Msg: clipMsg(msg)}
	if p.Line == 0 {
		p.Line = d.lastLine
		if top := topTable(path); top != path {
			p.Msg += fmt.Sprintf("; the file has no [%s] table", top)
		}
	}
	return p
}

// maxMsg bounds a problem's message. Messages quote the value they refuse,
// and a value (or a file name, or an error quoting either) of a megabyte
// made check's output, and serve's log at every reload, a megabyte line.
const maxMsg = 512

// clipMsg keeps the start and the end of a message longer than maxMsg,
// where what is wrong and what is accepted are said, and leaves out the
// middle, cut on rune boundaries.
func clipMsg(msg string) string {
	if len(msg) <= maxMsg {
		return msg
	}
	head, tail := maxMsg/2, len(msg)-maxMsg/4
	for head > 0 && !utf8.RuneStart(msg[head]) {
		head--
	}
	for tail < len(msg) && !utf8.RuneStart(msg[tail]) {
		tail++
	}
	return fmt.Sprintf("%s…(%d bytes left out)…%s", msg[:head], tail-head, msg[tail:])
}

// topTable is the top-level key of path: "provider" for
// "provider.client_id", "routes" for "routes[2].path".
func topTable(path string) string {
	for path != "" {
		parent := parentPath(path)
		if parent == "" {
			return path
		}
		path = parent
	}
	return path
}

// table reads one TOML table; every key it does not ask for is unknown.
type table struct {
	d       *decoder
	path    string
	m       map[string]any // nil when the table is absent
	present bool
	seen    map[string]bool
}

func (d *decoder) newTable(path string, m map[string]any) *table {
	return &table{d: d, path: path, m: m, present: m != nil, seen: map[string]bool{}}
}

func (t *table) key(k string) string { return joinKey(t.path, k) }

// has reports whether the table sets k.
func (t *table) has(k string) bool {
	_, ok := t.m[k]
	return ok
}

// get returns the raw value of k and marks k as known.
func (t *table) get(k string) (any, bool) {
	t.seen[k] = true
	v, ok := t.m[k]
	return v, ok
}

// finish reports every key of the table that no reader asked for, with the
// nearest key the table knows and the file does not set when it is likely
// a typo of it.
func (t *table) finish() {
	t.recordKeys()
	t.misplacedInSubtables()
	var unknown []string
	for k := range t.m {
		if !t.seen[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return
	}
	sort.Strings(unknown)
	known := make([]string, 0, len(t.seen))
	for k := range t.seen {
		if _, set := t.m[k]; !set {
			known = append(known, k)
		}
	}
	sort.Strings(known)
	for _, k := range unknown {
		if s := suggestKey(k, known); s != "" {
			t.d.problem(t.key(k), "unknown key; did you mean %s?", s)
			continue
		}
		t.d.problem(t.key(k), "unknown key%s", t.d.misplacedHint(t.path, k))
	}
}

// recordKeys notes, when the decoder is keyTables' recorder, which table
// reads each key the table asked for.
func (t *table) recordKeys() {
	name := tableName(t.path)
	if t.d.record == nil || name == "" {
		return
	}
	for k := range t.seen {
		if !slices.Contains(t.d.record[k], name) {
			t.d.record[k] = append(t.d.record[k], name)
		}
	}
}

// typeName names a decoded TOML value's type for problems.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	default:
		return "date/time"
	}
}

// expandAt expands ${VAR} in a string value found at path.
func (t *table) expandAt(path, s string) (string, bool) {
	out, err := expand(s, t.d.getenv)
	if err != nil {
		t.d.problem(path, "%s", err)
		return "", false
	}
	if i := shellRef(s); i > 0 {
		// The value may be a secret: the warning names where, not what.
		t.d.warn(path, "the \"$\" at byte %d is followed by a name but kept as written: only ${NAME} reads an environment variable (write $$ for a literal \"$\")", i)
	}
	return out, true
}

// str returns the string at k (expanded), or def when it is absent or wrong.
func (t *table) str(k, def string) string {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	s, isStr := v.(string)
	if !isStr {
		t.d.problem(t.key(k), "must be a string, got %s", typeName(v))
		return def
	}
	out, ok := t.expandAt(t.key(k), s)
	if !ok {
		return def
	}
	t.noControl(t.key(k), out)
	return out
}

// boolean returns the boolean at k, or def.
func (t *table) boolean(k string, def bool) bool {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool {
		t.d.problem(t.key(k), "must be a boolean, got %s", typeName(v))
		return def
	}
	return b
}

// count returns the non-negative integer at k, or def.
func (t *table) count(k string, def int) int {
	v, ok := t.get(k)
	if !ok {
		return def
	}
	n, isInt := v.(int64)
	switch {
	case !isInt:
		t.d.problem(t.key(k), "must be an integer, got %s", typeName(v))
		return def
	case n < 0 || n > 1<<30:
		t.d.problem(t.key(k), "must be between 0 and %d, got %d", 1<<30, n)
		return def
	}
	return int(n)
}

// strs returns the array of strings at k (each expanded), or nil.
func (t *table) strs(k string) []string {
	v, ok := t.get(k)
	if !ok {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		t.d.problem(t.key(k), "must be an array of strings, got %s", typeName(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, el := range arr {
		p := fmt.Sprintf("%s[%d]", t.key(k), i)
		s, isStr := el.(string)
		if !isStr {
			t.d.problem(p, "must be a string, got %s", typeName(el))
			continue
		}
		if s, ok := t.expandAt(p, s); ok {
			t.noControl(p, s)
			out = append(out, s)
		}
	}
	return out
}

// duration returns the duration string at k, or def. When positive is set,
// the value must be greater than zero; otherwise at least zero.
func (t *table) duration(k string, def time.Duration, positive bool) time.Duration {
	dur, s, ok := t.anyDuration(k, def)
	switch {
	case !ok:
		return def
	case positive && dur <= 0:
		t.d.problem(t.key(k), "must be greater than 0, got %q", s)
		return def
	case dur < 0:
		t.d.problem(t.key(k), "must not be negative, got %q", s)
		return def
	}
	return dur
}

// anyDuration returns the duration string at k, negative ones included
// (flush_interval: "-1ns" flushes after every write), with the string; ok
// is false when k is absent or not a duration (a problem is recorded).
func (t *table) anyDuration(k string, def time.Duration) (dur time.Duration, s string, ok bool) {
	if !t.has(k) {
		t.get(k)
		return def, "", false
	}
	n := len(t.d.problems)
	s = t.str(k, "")
	if len(t.d.problems) > n {
		return def, s, false
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		t.d.problem(t.key(k), "invalid duration %q (use e.g. \"90s\", \"12h\")", s)
		return def, s, false
	}
	if dur > maxDuration || dur < -maxDuration {
		t.d.problem(t.key(k), "%q is longer than any the gateway can use (at most \"87600h\", 10 years)", s)
		return def, s, false
	}
	return dur, s, true
}

// maxDuration bounds every duration key. Go's durations end at about 292
// years, and the gateway adds to them (a reload closes the old Redis
// connection after shutdown_timeout + 1s): near that end the sum wrapped
// negative, and the connection was closed under requests in flight at once.
const maxDuration = 10 * 365 * 24 * time.Hour

// sub returns the table at k (an absent table reads as empty).
func (t *table) sub(k string) *table {
	v, ok := t.get(k)
	if !ok {
		return t.d.newTable(t.key(k), nil)
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		t.d.problem(t.key(k), "must be a table, got %s%s", typeName(v), t.topHint(k))
		return t.d.newTable(t.key(k), nil)
	}
	return t.d.newTable(t.key(k), m)
}

// topHint is oauth2ProxyHint for a top-level key: oauth2-proxy's provider
// and upstreams are a string and a list of URLs where this file has tables.
func (t *table) topHint(k string) string {
	if t.path != "" {
		return ""
	}
	return oauth2ProxyHint(k)
}

// tables returns the array of tables at k.
func (t *table) tables(k string) []*table {
	v, ok := t.get(k)
	if !ok {
		return nil
	}
	arr, isArr := v.([]any)
	if !isArr {
		t.d.problem(t.key(k), "must be an array of tables ([[%s]]), got %s", k, typeName(v))
		return nil
	}
	var out []*table
	for i, el := range arr {
		p := fmt.Sprintf("%s[%d]", t.key(k), i)
		m, isMap := el.(map[string]any)
		if !isMap {
			t.d.problem(p, "must be a table, got %s%s", typeName(el), t.topHint(k))
			continue
		}
		out = append(out, t.d.newTable(p, m))
	}
	return out
}

// strMap returns the table at k as a map of strings (each expanded). With
// scalars set, booleans and integers are accepted too and converted to their
// canonical string ("true", "42").
func (t *table) strMap(k string, scalars bool) map[string]string {
	v, ok := t.get(k)
	if !ok {
		return nil
	}
	m, isMap := v.(map[string]any)
	if !isMap {
		t.d.problem(t.key(k), "must be a table, got %s", typeName(v))
		return nil
	}
	out := make(map[string]string, len(m))
	for name, el := range m {
		p := joinKey(t.key(k), name)
		switch x := el.(type) {
		case string:
			if s, ok := t.expandAt(p, x); ok {
				t.noControl(p, s)
				out[name] = s
			}
		case bool:
			if scalars {
				out[name] = strconv.FormatBool(x)
				continue
			}
			t.d.problem(p, "must be a string, got %s", typeName(el))
		case int64:
			if scalars {
				out[name] = strconv.FormatInt(x, 10)
				continue
			}
			t.d.problem(p, "must be a string, got %s", typeName(el))
		default:
			if scalars {
				t.d.problem(p, "must be a string, boolean or integer, got %s", typeName(el))
				continue
			}
			t.d.problem(p, "must be a string, got %s", typeName(el))
		}
	}
	return out
}
