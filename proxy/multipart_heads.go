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
// every upload of it a 400. One pass: each blank line is searched for once
// (headEnds), however many boundaries the body repeats.
func headSpans(body, boundary string) []span {
	delim := "--" + strings.ToLower(boundary)
	ends := headEnds{body: body, next: [3]int{-1, -1, -1}}
	var out []span
	for from := 0; from < len(body); {
		i := indexFold(body[from:], delim)
		if i < 0 {
			break
		}
		s := span{start: from + i, end: ends.after(from + i + len(delim))}
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
		} else {
			out = append(out, s)
		}
		if s.end == len(body) {
			break // every later head is inside this one
		}
		from = s.start + len(delim)
	}
	return out
}

// blankLines end a head: "\n\n" and "\n\r\n" for PHP and Go, "\r\n\r\n"
// for Rack and Tomcat.
var blankLines = [3]string{"\n\n", "\n\r\n", "\r\n\r\n"}

// headEnds finds where heads end (headSpans). next holds, for each of
// blankLines, the index of its first occurrence at or after the offset
// last asked (len(body): none; -1: not searched): offsets only grow, so a
// search starts again only past the last one found.
type headEnds struct {
	body string
	next [3]int
}

// after is where the longest head that starts at off ends: past the later
// of the first LF blank line and the first CRLF CRLF, or the end of the
// body when either is missing.
func (e *headEnds) after(off int) int {
	for k, b := range blankLines {
		if e.next[k] < off {
			e.next[k] = len(e.body)
			if j := strings.Index(e.body[off:], b); j >= 0 {
				e.next[k] = off + j
			}
		}
	}
	lf, crlf := min(e.next[0]+2, e.next[1]+3), e.next[2]+4
	if lf > len(e.body) || crlf > len(e.body) {
		return len(e.body)
	}
	return max(lf, crlf)
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
