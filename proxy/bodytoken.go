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
func bodyHasAccessToken(kind formKind, data []byte) bool {
	if kind&urlencodedForm != 0 && hasAccessTokenParam(view(data)) {
		return true
	}
	if kind&multipartForm != 0 && partNamesAccessToken(view(data)) {
		return true
	}
	found := false
	if kind&jsonForm != 0 {
		eachNamedField(data, "access", isAccessTokenName, func(string) { found = true })
	}
	return found
}

// partNamesAccessToken reports whether a multipart body has a part that a
// parser could name access_token. It reads the raw heads rather than Go's
// parse, and reads more than any one parser does, since a refusal is the
// safe error: every Content-Disposition or Content-ID (in any case,
// anywhere, as Rack before 3.1 matches them), up to the blank line that
// ends its head (so that a folded line or a name after a line break, which
// Rack's pattern crosses, counts), every name= reading (nameReadings),
// the RFC 2231 name* Go decodes, and a Content-ID's value (Rack's name of
// a part without one).
func partNamesAccessToken(body string) bool {
	if !containsFold(body, "access") && !containsFold(body, "name*") {
		return false
	}
	for _, header := range [...]string{"content-disposition", "content-id"} {
		for rest := body; ; {
			i := indexFold(rest, header)
			if i < 0 {
				break
			}
			rest = rest[i+len(header):]
			if headNamesAccessToken(header, headOf(rest)) {
				return true
			}
		}
	}
	return false
}

// headOf is s up to the blank line that ends a part's head, or all of s.
func headOf(s string) string {
	end := len(s)
	for _, sep := range [...]string{"\r\n\r\n", "\n\n", "\n\r\n"} {
		if i := strings.Index(s, sep); i >= 0 && i < end {
			end = i
		}
	}
	return s[:end]
}

// headNamesAccessToken reads head, the text after a Content-Disposition or
// Content-ID header's name, for an access_token name (partNamesAccessToken).
func headNamesAccessToken(header, head string) bool {
	for _, r := range nameReadings(head) {
		if isAccessTokenName(r) {
			return true
		}
	}
	value, ok := strings.CutPrefix(strings.TrimLeft(head, " \t"), ":")
	if !ok {
		return false
	}
	value = unfold(value)
	if header == "content-id" {
		return isAccessTokenName(strings.Trim(value, "<> \t"))
	}
	_, params, err := mime.ParseMediaType(value)
	return err == nil && isAccessTokenName(params["name"])
}

// unfold is a header value's first line with the lines that continue it
// (RFC 5322 §2.2.3: beginning with a space or a tab) joined to it.
func unfold(v string) string {
	var b strings.Builder
	for i, line := range strings.Split(v, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if i > 0 && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			break
		}
		b.WriteString(line)
	}
	return strings.TrimSpace(b.String())
}
