package proxy

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
)

// maxOverrideValue bounds what is read of a _method part.
const maxOverrideValue = 64

// errAmbiguousParts is eachPart's answer to a multipart body that the
// frameworks could read differently from Go where it matters.
var errAmbiguousParts = errors.New("a multipart body whose _method part could be read more than one way")

// eachPart calls fn with the value of every part of a multipart body named
// _method (isOverrideName), within the bytes read (cut: more followed; a
// part cut off is judged on what arrived). PHP, Rack and Spring parse
// multipart bodies with their own, laxer parsers, so where a body names
// something "method" the gateway insists that it reads it the one way:
//   - every header line that mentions "method" (or an RFC 2231 name*) must
//     be one Go read as a part's header: not in a preamble Go skipped,
//     after an early final boundary, or behind a bare-LF boundary;
//   - Go's parse must end cleanly (or at the cut);
//   - all readings of a part's names must agree (partName).
//
// Otherwise it returns errAmbiguousParts (a 400).
func eachPart(data []byte, boundary string, cut bool, fn func(string)) error {
	v := view(data)
	if !hasMethodWord(v) && !containsFold(v, "name*") && !strings.Contains(v, "=?") {
		return nil
	}
	seen := 0
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if cut {
				break
			}
			return errAmbiguousParts
		}
		seen += namingHeaders(p)
		name, ok := partName(p)
		if !ok {
			return errAmbiguousParts
		}
		if !isOverrideName(name) {
			continue
		}
		val, err := io.ReadAll(io.LimitReader(p, maxOverrideValue+1))
		fn(string(val))
		if err != nil && !cut {
			return errAmbiguousParts
		}
	}
	if raw, ok := rawNamingLines(v, boundary); !ok || seen < raw {
		return errAmbiguousParts
	}
	return nil
}

// namingHeaders counts the Content-Disposition and Content-ID values of a
// part that mention "method", name* or an RFC 2047 word ("=?").
func namingHeaders(p *multipart.Part) int {
	n := 0
	for _, k := range [...]string{"Content-Disposition", "Content-Id"} {
		for _, v := range p.Header.Values(k) {
			if naming(v) {
				n++
			}
		}
	}
	return n
}

func naming(s string) bool {
	return hasMethodWord(s) || containsFold(s, "name*") || strings.Contains(s, "=?")
}

// rawNamingLines counts the lines of body's heads (headSpans) that mention
// Content-Disposition or Content-ID anywhere (Rack before 3.1 matches them
// anywhere in a part's head, other headers' values and folded lines
// included) and mention "method", name* or "=?": what a lax parser could
// take as a part's name. It reports false for such a line that ends in a
// bare LF, which Tomcat does not end a header line at. A part's content
// (an uploaded file's lines) is no head to any parser and is not counted.
func rawNamingLines(body, boundary string) (int, bool) {
	spans, k, off, n := headSpans(body, boundary), 0, 0, 0
	for line := range strings.Lines(body) {
		at := off
		off += len(line)
		if !overlaps(spans, &k, at, len(line)) {
			continue
		}
		if !containsFold(line, "content-disposition") && !containsFold(line, "content-id") {
			continue
		}
		if strings.HasSuffix(line, "\n") && !strings.HasSuffix(line, "\r\n") {
			return 0, false
		}
		if naming(line) {
			n++
		}
	}
	return n, true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// partName returns the name of a part as the frameworks may read it, and
// false when they could read different names: Go's FormName (RFC 2231
// included), then every name= parameter of every Content-Disposition
// whatever its type, read quoted (double or single quotes, with or without
// backslash escapes) or bare (up to ";" or up to a blank), as PHP's and
// Rack's patterns read them. A Content-ID naming _method (Rack's fallback
// for a part without a name) counts as that name.
func partName(p *multipart.Part) (string, bool) {
	name := p.FormName()
	agree := func(r string) bool {
		if r = strings.TrimSpace(r); r == "" || r == name {
			return true
		}
		if name == "" {
			name = r
			return true
		}
		return false
	}
	for _, d := range p.Header.Values("Content-Disposition") {
		if name == "" && containsFold(d, "name*") {
			return "", false // an RFC 2231 name Go could not decode (another charset)
		}
		for _, r := range nameReadings(d) {
			if strings.Contains(r, "=?") || !agree(r) {
				return "", false // RFC 2047 words, which Tomcat decodes
			}
		}
	}
	if id := strings.Trim(p.Header.Get("Content-Id"), "<> \t"); isOverrideName(id) && !isOverrideName(name) {
		if name != "" {
			return "", false
		}
		name = id
	}
	return name, true
}

// nameReadings returns the readings of every name= parameter of a
// Content-Disposition value (partName). "filename=" and "name*=" are not
// name= parameters: the byte before "name" must not continue a token.
func nameReadings(d string) []string {
	var out []string
	for rest := d; ; {
		i := indexFold(rest, "name")
		if i < 0 {
			return out
		}
		if i > 0 && isTokenByte(rest[i-1]) {
			rest = rest[i+len("name"):]
			continue
		}
		rest = strings.TrimLeft(rest[i+len("name"):], " \t")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		v := strings.TrimLeft(rest[1:], " \t")
		switch {
		case strings.HasPrefix(v, `"`):
			raw, _, _ := strings.Cut(v[1:], `"`)
			out = append(out, raw, unescapeQuoted(v[1:]))
		case strings.HasPrefix(v, "'"):
			raw, _, _ := strings.Cut(v[1:], "'")
			out = append(out, raw)
		default:
			bare, _, _ := strings.Cut(v, ";")
			word := bare
			if i := strings.IndexAny(bare, " \t"); i >= 0 {
				word = bare[:i]
			}
			token := bare
			if i := strings.IndexAny(bare, tspecials); i >= 0 {
				token = bare[:i] // Rack 2 and 3.0 read a token up to a delimiter
			}
			out = append(out, bare, word, token)
		}
	}
}

// unescapeQuoted reads a quoted-string's content (after its opening
// quote) with backslash escapes, up to its closing quote.
func unescapeQuoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return b.String()
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// tspecials end an unquoted parameter value (RFC 2045 §5.1), and blanks.
const tspecials = "()<>@,;:\\\"/[]?= \t"

// isTokenByte reports bytes that continue a parameter name ("filename",
// "file-name", "name*" are other parameters).
func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '*'
}
