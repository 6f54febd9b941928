package proxy

import (
	"mime"
	"strings"
)

// accessTokenParam is RFC 6750 §2.2's form parameter, which the gateway
// does not accept (docs/requests.md, tokens in URLs).
const accessTokenParam = "access_token"

// isAccessTokenName reports whether a parameter name reads as access_token
// to one of the frameworks (isParamName).
func isAccessTokenName(k string) bool { return isParamName(k, accessTokenParam) }

// bodyHasAccessToken reports whether a body readForm read as kind names an
// access_token in any of the ways a framework reads that kind: a
// URL-encoded parameter, a multipart part (Rack and PHP put parts in the
// same params as a URL-encoded form) or a top-level JSON member (Rails
// puts those there too). Doorkeeper takes a token from those params, so
// a signed-in user's request carrying another user's token in a
// multipart or JSON body was authorized as the one and served as the
// other.
func bodyHasAccessToken(kind formKind, data []byte, boundary string) bool {
	if kind&urlencodedForm != 0 && hasAccessTokenParam(view(bodyText(data))) {
		return true
	}
	if kind&multipartForm != 0 && partNamesAccessToken(view(data), boundary) {
		return true
	}
	found := false
	if kind&jsonForm != 0 {
		eachNamedField(bodyText(data), "access", isAccessTokenName, func(string) { found = true })
	}
	return found
}

// partNamesAccessToken reports whether a multipart body has a part that a
// parser could name access_token. It reads the raw heads rather than Go's
// parse, and reads more than any one parser does, since a refusal is the
// safe error: each header line that mentions Content-Disposition or
// Content-ID (anywhere, in any case, as Rack before 3.1 matches them),
// with the lines that continue it (folded, or without a colon, which
// Rack's pattern crosses), for every name= reading (nameReadings), the
// RFC 2231 name* Go decodes, and a Content-ID's value (Rack's name of a
// part without one). Only what a parser may read as a head is read
// (headSpans): a part's content, an uploaded text that mentions
// Content-Disposition and then name=access_token, is no head to any of
// them. One pass over the body: no line is read twice.
func partNamesAccessToken(body, boundary string) bool {
	if !containsFold(body, "access") && !containsFold(body, "name*") && !strings.ContainsAny(body, asciiFoldRunes) {
		return false
	}
	spans, k := headSpans(body, boundary), 0
	start, off := 0, 0
	for line := range strings.Lines(body) {
		if off > start && !continues(line) {
			if spannedNamesAccessToken(body, spans, &k, start, off) {
				return true
			}
			start = off
		}
		off += len(line)
	}
	return spannedNamesAccessToken(body, spans, &k, start, len(body))
}

// spannedNamesAccessToken reads each piece of the header body[start:end]
// that lies in a head span as one header (headerNamesAccessToken). Headers
// come in order, so *k skips the spans that end before this one: spans and
// headers are each disjoint, and the pairs that meet are at most as many
// as both, however many boundaries a body repeats.
func spannedNamesAccessToken(body string, spans []span, k *int, start, end int) bool {
	for *k < len(spans) && spans[*k].end <= start {
		*k++
	}
	for _, s := range spans[*k:] {
		if s.start >= end {
			break
		}
		if headerNamesAccessToken(body[max(start, s.start):min(end, s.end)]) {
			return true
		}
	}
	return false
}

// continues reports whether a line of a part's head continues the header
// line before it: folded (a leading blank), or with no colon (no header
// of its own). A blank line ends a head.
func continues(line string) bool {
	if strings.TrimRight(line, "\r\n") == "" {
		return false
	}
	return line[0] == ' ' || line[0] == '\t' || strings.IndexByte(line, ':') < 0
}

// maxNameReadings bounds the name= parameters read in one header: each
// reading may look to the header's end, and a legitimate head has a few.
// A header with more is refused as if it named an access_token.
const maxNameReadings = 16

// nameReadingsOver reports whether h has more than max of the name=
// parameters nameReadings reads: a "name" that continues no other word
// ("filename", "username" are not counted), then "=". Counting every
// "name" refused a text file whose lines below a mention of
// Content-Disposition said "filename" often.
func nameReadingsOver(h string, max int) bool {
	n := 0
	for rest := h; ; {
		j := indexFold(rest, "name")
		if j < 0 {
			return false
		}
		own := j == 0 || !isTokenByte(rest[j-1])
		rest = rest[j+len("name"):]
		if own && strings.HasPrefix(strings.TrimLeft(rest, " \t"), "=") {
			if n++; n > max {
				return true
			}
		}
	}
}

// headerNamesAccessToken reads one header with its continuation lines
// (partNamesAccessToken), as it stands and, when folded, as Go's
// textproto joins its lines: one space for each line break and the blanks
// around it, so that name="access<CRLF> token" is "access token", which
// PHP, whose parser keeps the blank, reads as access_token too.
func headerNamesAccessToken(h string) bool {
	if headerLineNamesAccessToken(h) {
		return true
	}
	if strings.IndexByte(strings.TrimRight(h, "\r\n"), '\n') < 0 {
		return false // not folded
	}
	return headerLineNamesAccessToken(joinFolded(h))
}

// joinFolded is a folded header's lines joined as Go's textproto joins
// them: each trimmed of its blanks, one space between them.
func joinFolded(h string) string {
	var b strings.Builder
	b.Grow(len(h))
	for line := range strings.Lines(h) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strings.Trim(line, " \t\r\n"))
	}
	return b.String()
}

// headerLineNamesAccessToken reads one header as a single line
// (headerNamesAccessToken).
func headerLineNamesAccessToken(h string) bool {
	header := "content-disposition"
	i := indexFold(h, header)
	if i < 0 {
		header = "content-id"
		if i = indexFold(h, header); i < 0 {
			return false
		}
	}
	if nameReadingsOver(h, maxNameReadings) {
		return true
	}
	for _, r := range nameReadings(h) {
		if isAccessTokenName(r) {
			return true
		}
	}
	value, ok := strings.CutPrefix(strings.TrimLeft(h[i+len(header):], " \t"), ":")
	if !ok {
		return false
	}
	value = unfold(value)
	if header == "content-id" {
		return isAccessTokenName(strings.Trim(value, "<> \t"))
	}
	if !containsFold(value, "name*") {
		return false // a plain name is among nameReadings
	}
	_, params, err := mime.ParseMediaType(value)
	return err == nil && isAccessTokenName(params["name"])
}

// lineBreaks removes a folded header value's line breaks (unfold).
var lineBreaks = strings.NewReplacer("\r", "", "\n", "")

// unfold is a header value with its line breaks removed (RFC 5322 §2.2.3).
func unfold(v string) string { return strings.TrimSpace(lineBreaks.Replace(v)) }
