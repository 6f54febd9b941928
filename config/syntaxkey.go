package config

import (
	"bytes"
	"regexp"
	"strings"
)

// syntaxKey names, for an error the TOML parser itself stops at, the key
// whose value it was reading: "toml" said only that the file was broken,
// and on a line of an array that runs over several lines it did not say
// which key's. The key is the one that begins the first expression the
// parser did not finish, under the table the expressions before it left
// current. It returns the line that expression begins on (0 when it named
// none): above the line of the error, an array was left open, and the fix
// is between the two.
func syntaxKey(p *Problem, data []byte) int {
	w, err := walkLines(data)
	if err == nil { // the parser read it all: a value it cannot hold, a duplicate
		if p.Key == "toml" {
			p.Key = keyOnLine(w.idx, p.Line, p.Key)
		}
		return 0
	}
	start := w.nextExpression(data)
	if start == 0 || start > p.Line {
		return 0
	}
	parts := keyParts(lineAt(data, start))
	if parts == nil { // a [header] line, or no key to read
		return 0
	}
	path := w.table
	for _, k := range parts {
		path = joinKey(path, k)
	}
	p.Key = path
	return start
}

// keyOnLine is the outermost key written on line (the key of its
// "key = value"), or def when the line has none.
func keyOnLine(idx lineIndex, line int, def string) string {
	best := ""
	for path, l := range idx {
		if l == line && (best == "" || len(path) < len(best) || len(path) == len(best) && path < best) {
			best = path
		}
	}
	if best == "" {
		return def
	}
	return best
}

// syntaxHints say what a person most likely did, for the parser's
// messages that describe only what it met.
var syntaxHints = map[string]string{
	"basic strings cannot have new lines":                 `the string's closing " is missing`,
	"literal strings cannot have new lines":               "the string's closing ' is missing",
	"invalid UTF-8 character in comment":                  "save the file as UTF-8",
	"invalid UTF-8 character in basic string":             "save the file as UTF-8",
	"invalid UTF-8 character in literal string":           "save the file as UTF-8",
	"invalid UTF-8 character in multiline basic string":   "save the file as UTF-8",
	"invalid UTF-8 character in multiline literal string": "save the file as UTF-8",
}

// nextExpression is the line of the first expression after the last one
// the walker read: the next line holding more than blanks or a comment.
// 0 when the file has none.
func (w *lineWalker) nextExpression(data []byte) int {
	lines := bytes.Split(data, []byte("\n"))
	for i := w.doneLine; i < len(lines); i++ {
		l := bytes.TrimSpace(lines[i])
		if len(l) > 0 && l[0] != '#' {
			return i + 1
		}
	}
	return 0
}

// linesOf is the 1-based lines from to to of data, without the last one's
// line feed.
func linesOf(data []byte, from, to int) []byte {
	end := lineStart(data, to)
	if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
		end += i
	} else {
		end = len(data)
	}
	return data[min(lineStart(data, from), end):end]
}

// lineAt is the 1-based line of data.
func lineAt(data []byte, line int) []byte {
	start := lineStart(data, line)
	if end := bytes.IndexByte(data[start:], '\n'); end >= 0 {
		return data[start : start+end]
	}
	return data[start:]
}

var (
	keyValueStart = regexp.MustCompile(`^[ \t]*((?:[A-Za-z0-9_-]+|"[^"\\]*"|'[^']*')(?:[ \t]*\.[ \t]*(?:[A-Za-z0-9_-]+|"[^"\\]*"|'[^']*'))*)[ \t]*=`)
	keyPart       = regexp.MustCompile(`[A-Za-z0-9_-]+|"([^"\\]*)"|'([^']*)'`)
)

// keyParts reads the dotted key that begins a "key = value" line; nil when
// the line begins no key (a header, a value's continuation). Quoted parts
// that use escapes are not read: a wrong key is worse than none.
func keyParts(line []byte) []string {
	m := keyValueStart.FindSubmatch(line)
	if m == nil {
		return nil
	}
	var parts []string
	for _, pm := range keyPart.FindAllSubmatch(m[1], -1) {
		switch {
		case pm[1] != nil:
			parts = append(parts, string(pm[1]))
		case pm[2] != nil:
			parts = append(parts, string(pm[2]))
		default:
			parts = append(parts, string(pm[0]))
		}
	}
	return parts
}

var (
	quotedRune  = regexp.MustCompile(`U\+[0-9A-F]{4,6} '[^']*'`)
	quotedValue = regexp.MustCompile(`parsing "[^"]*"`)
)

// redactSyntax leaves out what a parser's message quotes of the line (the
// character it met, "U+0063 'c'", or a number it could not read, whole)
// when the value may hold a secret (mayHoldSecret): a client_secret
// written with a stray '"' in it showed its next character, one of a
// number its value. lines is the text from the line the value opens on to
// the line of the error.
func redactSyntax(p *Problem, lines []byte) {
	if !mayHoldSecret(p.Key, lines) {
		return
	}
	p.Msg = quotedRune.ReplaceAllString(p.Msg, "a character not shown (the line may hold a secret)")
	p.Msg = quotedValue.ReplaceAllString(p.Msg, "parsing a value not shown (the line may hold a secret)")
}

// mayHoldSecret says whether a value under key, written on lines, may hold
// a secret: a key the problem could not name may be any key; a key named
// for a secret; and any value that holds a URL or an "@", whatever its key,
// since a URL carries a password in its user information or a token in
// its query (upstream = "http://user:PASSWORD@app:8080", directory_url,
// an issuer): the key's name alone let their characters show.
func mayHoldSecret(key string, lines []byte) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"secret", "password", "redis_url", "token"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return key == "toml" || bytes.Contains(lines, []byte("://")) || bytes.IndexByte(lines, '@') >= 0
}
