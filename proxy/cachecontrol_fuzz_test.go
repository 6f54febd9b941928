package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzIsPage: every answer a browser may render as HTML is a page. The
// oracle reads Content-Type lines as a browser does (the Fetch standard's
// "extract a MIME type": values split at commas outside quoted strings,
// the last valid type wins, */* is skipped) and sniffs the body, which
// may be HTML, when no valid type is left or the type is one browsers
// treat as unknown; an answer with a body is all isPage may ignore.
func FuzzIsPage(f *testing.F) {
	for _, s := range []string{"text/html", "text/plain\ntext/html", "text/plain, text/html", "TEXT/HTML; charset=utf-8",
		"application/xhtml+xml", "text/plain;x=\",text/html\"", "image/png", "", "*/*", "unknown/unknown",
		"application/unknown", "html", "text/plain, \t", "text/css;\"", "a;x=\",text/css;\"", "a;x=\"\n,text/css;\""} {
		f.Add(s, 200)
		f.Add(s, 304)
	}
	f.Fuzz(func(t *testing.T, lines string, status int) {
		h := http.Header{"Content-Type": strings.Split(lines, "\n")}
		if lines == "-" {
			delete(h, "Content-Type")
		}
		if browserMayShowHTML(h["Content-Type"], status) && !isPage(h, status) {
			t.Errorf("Content-Type %.200q, status %d: a browser may show HTML, isPage says no", h["Content-Type"], status)
		}
	})
}

// browserMayShowHTML is the oracle of FuzzIsPage.
func browserMayShowHTML(lines []string, status int) bool {
	hasBody := status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
	essence := ""
	// Fetch's "get" joins a field's lines with ", " before splitting: a
	// quoted string opened on one line runs on into the next.
	for _, v := range splitOutsideQuotes(strings.Join(lines, ", ")) {
		if e := mimeEssence(v); e != "" && e != "*/*" {
			essence = e
		}
	}
	switch essence {
	case "text/html", "application/xhtml+xml":
		return true
	case "", "unknown/unknown", "application/unknown":
		return hasBody
	}
	return false
}

// splitOutsideQuotes splits s at the commas outside quoted strings (a
// backslash escapes the next character inside one).
func splitOutsideQuotes(s string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case !quoted && s[i] == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// mimeEssence is the lower-cased type/subtype of v, or "" when v is not a
// MIME type (a type and a subtype of token characters).
func mimeEssence(v string) string {
	v = strings.Trim(v, " \t\r\n")
	typ, rest, ok := strings.Cut(v, "/")
	if !ok {
		return ""
	}
	sub, _, _ := strings.Cut(rest, ";")
	sub = strings.TrimRight(sub, " \t\r\n")
	if !tokenChars(typ) || !tokenChars(sub) {
		return ""
	}
	return strings.ToLower(typ + "/" + sub)
}

func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return s != ""
}
