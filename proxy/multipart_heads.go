package proxy

import "strings"

// span is a byte range [start, end) of a body.
type span struct{ start, end int }

// headSpans returns the parts of a multipart body that some parser may read
// as a part's head, in order and merged: from each "--" and the boundary
// (in any case), wherever it stands, to the end of the longest head a
// parser gives it. Every parser (Go's, PHP's, Rack's, Tomcat's) starts a
// head only after the boundary; PHP and Go end it at the first blank line
// (LF or CRLF), Rack and Tomcat at the first CRLF CRLF, and a parser that
// finds none reads on to the end. Outside these spans a line is a part's
// content to all of them: counted as a head, an uploaded e-mail's own
// Content-Disposition line (an RFC 2047 file name, or an LF line) made
// every upload of it a 400.
func headSpans(body, boundary string) []span {
	delim := "--" + strings.ToLower(boundary)
	var out []span
	for from := 0; from < len(body); {
		i := indexFold(body[from:], delim)
		if i < 0 {
			break
		}
		s := span{start: from + i, end: headEnd(body, from+i+len(delim))}
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
		} else {
			out = append(out, s)
		}
		from = s.start + len(delim)
	}
	return out
}

// headEnd is where the longest head that starts before off ends (headSpans):
// past the later of the first LF blank line and the first CRLF CRLF, or the
// end of body when either is missing.
func headEnd(body string, off int) int {
	rest := body[off:]
	lf := strings.Index(rest, "\n\n")
	if j := strings.Index(rest, "\n\r\n"); j >= 0 && (lf < 0 || j < lf) {
		lf = j + 1 // past its CR
	}
	crlf := strings.Index(rest, "\r\n\r\n")
	if lf < 0 || crlf < 0 {
		return len(body)
	}
	return off + max(lf+2, crlf+4)
}

// overlaps reports whether the line at [off, off+n) shares a byte with
// spans[*k:], advancing *k past the spans that end before it (lines come
// in order).
func overlaps(spans []span, k *int, off, n int) bool {
	for *k < len(spans) && spans[*k].end <= off {
		*k++
	}
	return *k < len(spans) && spans[*k].start < off+n
}
