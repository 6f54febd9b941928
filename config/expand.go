package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"
)

// expand replaces every ${NAME} in s with the value of the environment
// variable NAME. "$$" stands for a literal "$"; a "$" followed by anything
// else is kept as it is. An unset variable is an error (an empty one is not),
// so that a forgotten secret never becomes an empty string.
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated ${ (write $$ for a literal $)")
			}
			name := s[i+2 : i+2+end]
			if !isEnvName(name) {
				return "", fmt.Errorf("invalid environment variable name %q", name)
			}
			v, ok := getenv(name)
			if !ok {
				return "", fmt.Errorf("environment variable %s is not set", name)
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// isEnvName reports whether name is a portable environment variable name.
func isEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// resolvePath makes a relative path from the file relative to the config
// file's directory.
func (d *decoder) resolvePath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

// maxFileSize bounds the configuration file and every file it names, so
// that a path naming /dev/zero or a log file by mistake is a problem, not a
// check, serve or SIGHUP reload that runs out of memory.
const maxFileSize = 4 << 20

// ReadFile reads the file at path, refusing one larger than maxFileSize.
// The gateway reads the TLS files it re-reads on change with it too. It
// opens without blocking: a named pipe with no writer (a secret file
// mounted wrong) reads as empty, a problem, instead of hanging check,
// serve or a reload in open(2).
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, maxFileSize>>20)
	}
	return b, nil
}

// readFile reads the file named by the value at path.
func (d *decoder) readFile(path, name string) ([]byte, bool) {
	b, err := ReadFile(d.resolvePath(name))
	if err != nil {
		d.problem(path, "cannot read file: %v", err)
		return nil, false
	}
	return b, true
}

// bothGiven records a problem when a secret is given both as k and as
// k_file, and reports whether it is. It marks k_file a known key either
// way, for suggestions.
func (t *table) bothGiven(k string) bool {
	t.seen[k+"_file"] = true
	if !t.has(k) || !t.has(k+"_file") {
		return false
	}
	t.get(k)
	t.get(k + "_file")
	t.d.problem(t.key(k+"_file"), "give either %s or %s_file, not both", k, k)
	return true
}

// secret returns the secret given as k or, from a file, as k_file (the
// trimmed contents). Giving both is a problem.
func (t *table) secret(k string) string {
	if t.bothGiven(k) {
		return ""
	}
	if t.has(k + "_file") {
		name := t.str(k+"_file", "")
		if name == "" {
			return ""
		}
		b, ok := t.d.readSecretFile(t.key(k+"_file"), name)
		v := strings.TrimSpace(string(b))
		if ok && v == "" {
			// As with an unset ${VAR}: a forgotten secret never becomes "".
			t.d.problem(t.key(k+"_file"), "%s is empty (for no %s, leave %s_file out)", name, k, k)
		}
		t.noControl(t.key(k+"_file"), v)
		return v
	}
	if raw, ok := t.m[k].(string); ok {
		t.d.noteInline(t.key(k), raw)
	}
	v := t.str(k, "")
	t.noControl(t.key(k), v)
	return v
}

// noControl refuses a value with a control character, never showing it
// (it may be a secret): most often the line feed ending a value put into
// the environment with $(cat file), or a file of two lines. No key takes
// one. Accepted, a secret failed every sign-in at the provider
// (invalid_client) or every Redis AUTH, a client_id, claim name or Redis
// user every sign-in or connection, and an upstream's name split the
// reload log's line, each far from the cause.
func (t *table) noControl(path, secret string) {
	i := strings.IndexFunc(secret, unicode.IsControl)
	if i < 0 {
		return
	}
	r, size := utf8.DecodeRuneInString(secret[i:])
	switch {
	case r == '\n' && i+size == len(secret):
		t.d.problem(path, "ends with a control character (U+000A, a line feed from $(cat file)?): remove it; the value is not shown")
	case i+size == len(secret):
		t.d.problem(path, "ends with a control character (%U): remove it; the value is not shown", r)
	case r == '\n' || r == '\r':
		t.d.problem(path, "contains a control character at byte %d (%U, a second line?): remove it; the value is not shown", i+1, r)
	default:
		t.d.problem(path, "contains a control character at byte %d (%U): remove it; the value is not shown", i+1, r)
	}
}

// noteInlineList is noteInline for the array at k: the key once, when
// any of its entries holds a secret of its own.
func (t *table) noteInlineList(k string) {
	raws, _ := t.m[k].([]any)
	for _, el := range raws {
		if raw, ok := el.(string); ok && raw != "" && !isEnvRef(raw) {
			t.d.noteInline(t.key(k), raw)
			return
		}
	}
}

// listEntry is one value of a secret list with where it came from: the key
// path, and for a file the line within that file.
type listEntry struct {
	val      string
	path     string
	fileLine int // 0 when the value is written in the config file itself
}

// secretList returns the secrets given as k (an array) or as k_file (one per
// line; blank lines and lines starting with # are ignored).
func (t *table) secretList(k string) []listEntry {
	if t.bothGiven(k) {
		return nil
	}
	var out []listEntry
	if !t.has(k + "_file") {
		n := len(t.d.problems)
		vals := t.strs(k)
		if len(t.d.problems) > n {
			return nil
		}
		for i, v := range vals {
			out = append(out, listEntry{val: v, path: fmt.Sprintf("%s[%d]", t.key(k), i)})
		}
		t.noteInlineList(k)
		return out
	}
	name := t.str(k+"_file", "")
	if name == "" {
		return nil
	}
	b, ok := t.d.readSecretFile(t.key(k+"_file"), name)
	if !ok {
		return nil
	}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, listEntry{val: line, path: t.key(k + "_file"), fileLine: i + 1})
	}
	return out
}
