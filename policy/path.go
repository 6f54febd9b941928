package policy

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/internal/ascii"
)

// NormalizeURL normalises the path of a parsed request-target (or
// X-Forwarded-Uri, X-Original-URL) exactly as the client sent it. It must be
// used instead of Normalize(u.EscapedPath()): EscapedPath re-encodes the
// decoded Path whenever the original holds a character it deems invalid in a
// path ('{', '|', '"', ...), so "/a%2F..%2F..%2Fb{" would reach Normalize as
// "/a/../../b%7B" and be authorized as "/b" while a front proxy or the
// upstream still sees one segment under /a. url.URL keeps the original in
// RawPath whenever it differs from the default encoding.
func NormalizeURL(u *url.URL) (string, error) {
	return Normalize(RequestPath(u))
}

// HasDotDotSegment reports whether escapedPath has a ".." segment, raw or
// with its dots percent-encoded ("%2e%2E"). Normalize resolves it; a caller
// that cannot forward the normalised path (forward-auth: the front proxy
// sends the original to the application, which may not resolve it, and
// "/admin/../public/x" would be judged as public yet served as admin)
// must refuse such a path instead. A "." segment cannot climb and passes.
// It allocates nothing: forward-auth checks every request behind the front
// proxy.
func HasDotDotSegment(escapedPath string) bool {
	for rest := escapedPath; ; {
		seg, after, more := strings.Cut(rest, "/")
		if isDotDot(seg) {
			return true
		}
		if !more {
			return false
		}
		rest = after
	}
}

// isDotDot reports whether seg is two dots, each "." or "%2e" in either case.
func isDotDot(seg string) bool {
	rest, ok := cutDot(seg)
	if ok {
		rest, ok = cutDot(rest)
	}
	return ok && rest == ""
}

// cutDot returns s without its leading dot, raw or percent-encoded.
func cutDot(s string) (string, bool) {
	if strings.HasPrefix(s, ".") {
		return s[1:], true
	}
	if len(s) >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E') {
		return s[3:], true
	}
	return s, false
}

// RequestPath is the escaped path of u as it was sent (see NormalizeURL).
func RequestPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}

// Normalize turns a request's escaped path (url.URL.EscapedPath, or the path
// of the raw request-target) into the one normalised path that is matched and
// forwarded upstream, in escaped form, or returns an error wrapping ErrBadPath
// (docs/requests.md, "Path handling"; a 400).
//
// The rules, after RFC 3986 §6.2.2:
//   - percent-encoded unreserved characters (ALPHA DIGIT "-" "." "_" "~",
//     RFC 3986 §2.3) are decoded; every other escape is kept with upper-case
//     hex digits (§6.2.2.1), and the routes are matched in MatchKey's form;
//   - dot-segments are removed (§5.2.4), encoded ones ("%2e%2e") included,
//     and a ".." that would climb above the root is refused;
//   - repeated slashes are merged and a trailing slash is kept; "" becomes "/";
//   - characters that are not allowed raw in a path but are harmless (space,
//     '"', '<', '>', '[', ']', '^', '`', '{', '|', '}' and bytes >= 0x80) are
//     percent-encoded.
//
// Refused: a path not starting with "/"; encoded "/", "\", "?", "#", "%" or
// ";" (%2F %5C %3F %23 %25 %3B), because upstreams disagree on what they
// mean, and a hop that decodes the path hands on the raw character; raw
// "\", "#", ";" and "?"; raw or encoded control characters (0x00-0x1F, 0x7F
// and the C1 controls U+0080-U+009F) and line or paragraph separators
// (U+2028, U+2029);
// bytes that, once decoded, are not valid UTF-8; a character that is a
// compatibility variant of ASCII (ascii.NFKCLookalike: "‥", fullwidth "／" or
// "ａ"); malformed escapes.
//
// An already-normal path is returned unchanged without allocating. To
// forward it, set both url.URL.RawPath to the result and url.URL.Path to its
// url.PathUnescape, so that the escapes kept here go upstream as they are.
func Normalize(escapedPath string) (string, error) {
	if escapedPath == "" {
		return "/", nil
	}
	if escapedPath[0] != '/' {
		return "", badPath("does not start with /")
	}
	if isNormal(escapedPath) {
		return escapedPath, nil
	}
	return normalizeSlow(escapedPath)
}

// isNormal reports whether p (starting with "/") is already in normal form,
// so that Normalize may return it as it is. It is conservative: false only
// sends p down the slow path, which decides.
func isNormal(p string) bool {
	var u utf8Check
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '/':
			rest := p[i+1:]
			if u.n != 0 || len(rest) > 0 && (rest[0] == '/' || isDotSegment(rest) ||
				(rest[0] == '.' || rest[0] == '%') && dotLike(segment(rest))) {
				return false
			}
		case c == '%':
			if i+2 >= len(p) || !isUpperHex(p[i+1]) || !isUpperHex(p[i+2]) {
				return false
			}
			v := unhex(p[i+1])<<4 | unhex(p[i+2])
			if v < 0x80 && escapeClass(v) != keepEscaped {
				return false
			}
			u.feed(v)
			i += 2
		case !isRawPathChar(c):
			return false
		default:
			u.feed(c)
		}
	}
	return !u.bad && !u.control && !u.lookalike && u.n == 0
}

// isDotSegment reports whether rest (the text after a "/") starts with a raw
// "." or ".." segment.
func isDotSegment(rest string) bool {
	n := 0
	for n < len(rest) && n < 3 && rest[n] == '.' {
		n++
	}
	if n == 0 || n == 3 {
		return false
	}
	return n == len(rest) || rest[n] == '/'
}

// segment is the first segment of rest (the text after a "/").
func segment(rest string) string {
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i]
	}
	return rest
}

// dotLike reports whether seg (a segment, escaped) is made only of dots and
// spaces ("%20"), holds a dot, and is not "." or "..": "...", "..%20",
// ".%20". Windows and IIS drop a name's trailing dots and spaces, so an
// upstream there reads "/public/..%20/admin" as "/admin", a path the
// gateway never decided. No name an application serves looks like that.
func dotLike(seg string) bool {
	dots := 0
	for i := 0; i < len(seg); i++ {
		switch {
		case seg[i] == '.':
			dots++
		case strings.HasPrefix(seg[i:], "%20"):
			i += 2
		default:
			return false
		}
	}
	return dots > 0 && seg != "." && seg != ".."
}

// normalizeSlow builds the normal form of p segment by segment. out starts
// in a stack buffer, so that a path of up to 256 bytes allocates only its
// result.
func normalizeSlow(p string) (string, error) {
	var stack [256]byte
	out := append(stack[:0], '/')
	var u utf8Check
	for i := 1; i <= len(p); {
		mark := len(out)
		var j int
		var err error
		if out, j, err = appendSegment(out, p, i, &u); err != nil {
			return "", err
		}
		if err := u.segmentError(); err != nil {
			return "", err
		}
		if out, err = resolveSegment(out, mark, j < len(p)); err != nil {
			return "", err
		}
		i = j + 1
	}
	if string(out) == p {
		return p, nil
	}
	return string(out), nil
}

// appendSegment appends to out the normal form of the segment of p that
// starts at i (unreserved escapes decoded, other escapes upper-cased, bytes
// a path may not hold raw escaped), feeding u each byte it stands for, and
// returns out and the index of the "/" or end that closes the segment.
func appendSegment(out []byte, p string, i int, u *utf8Check) ([]byte, int, error) {
	j := i
	for ; j < len(p) && p[j] != '/'; j++ {
		c := p[j]
		switch {
		case c == '%':
			if j+2 >= len(p) || !isHex(p[j+1]) || !isHex(p[j+2]) {
				return out, j, badPath("malformed percent-escape")
			}
			v := unhex(p[j+1])<<4 | unhex(p[j+2])
			j += 2
			u.feed(v)
			var err error
			if out, err = appendEscaped(out, v); err != nil {
				return out, j, err
			}
		case c >= 0x80:
			u.feed(c)
			out = appendEscape(out, c)
		case c < 0x20 || c == 0x7f:
			return out, j, badPath("control character")
		case c == '\\' || c == '#' || c == ';' || c == '?':
			return out, j, badPath(fmt.Sprintf("raw %q", c))
		case isRawPathChar(c):
			u.feed(c)
			out = append(out, c)
		default:
			u.feed(c)
			out = appendEscape(out, c)
		}
	}
	return out, j, nil
}

// appendEscaped appends the byte v a percent-escape stood for as its class
// says: decoded, kept escaped, or refused.
func appendEscaped(out []byte, v byte) ([]byte, error) {
	if v >= 0x80 {
		return appendEscape(out, v), nil
	}
	switch escapeClass(v) {
	case decodeEscape:
		return append(out, v), nil
	case keepEscaped:
		return appendEscape(out, v), nil
	case refuseControl:
		return out, badPath("control character")
	default:
		return out, badPath(fmt.Sprintf("encoded %q", v))
	}
}

// segmentError refuses the text fed so far when it is not valid UTF-8 or
// holds a control, a line separator or an ASCII look-alike. It is asked at
// each segment's end: a character split by a "/" is invalid.
func (u *utf8Check) segmentError() error {
	switch {
	case u.bad || u.n != 0:
		return badPath("invalid UTF-8")
	case u.control:
		return badPath("control character or line separator")
	case u.lookalike:
		return badPath("a character that reads as ASCII once normalised (NFKC), such as \"‥\" or a fullwidth \"／\"")
	}
	return nil
}

// resolveSegment applies the segment out[mark:], just appended, to the path
// out holds (RFC 3986 §5.2.4): "." is removed, ".." removes it and the
// segment before, an empty one merges, and another is closed with "/" when
// more of the path follows.
func resolveSegment(out []byte, mark int, more bool) ([]byte, error) {
	switch seg := out[mark:]; {
	case dotLike(string(seg)):
		return out, badPath("a segment of dots and spaces that is not \".\" or \"..\"")
	case len(seg) == 0:
		// An empty segment: repeated slashes merge; a trailing one stays
		// because out already ends with "/".
	case len(seg) == 1 && seg[0] == '.':
		out = out[:mark]
	case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
		if mark == 1 {
			return out, badPath("dot-segment above the root")
		}
		out = out[:mark-1]
		out = out[:bytes.LastIndexByte(out, '/')+1]
	case more:
		out = append(out, '/')
	}
	return out, nil
}

func badPath(reason string) error {
	return fmt.Errorf("%w: %s", ErrBadPath, reason)
}

// The ways Normalize treats a percent-encoded ASCII byte.
const (
	keepEscaped   = iota // kept encoded, hex upper-cased
	decodeEscape         // unreserved: decoded (RFC 3986 §6.2.2.2)
	refuseControl        // control character: refused
	refuseDelim          // "/", "\", "?", "#", "%", ";": refused
)

func escapeClass(v byte) int {
	switch {
	case isUnreserved(v):
		return decodeEscape
	case v < 0x20 || v == 0x7f:
		return refuseControl
	case v == '/' || v == '\\' || v == '?' || v == '#' || v == '%' || v == ';':
		// ";" as a raw one is refused: a hop that decodes the path and
		// sends it on (nginx with a URI in proxy_pass, a rewrite) turns
		// "/admin%3Bx" into the path parameter "/admin;x", which servers
		// strip to "/admin" under a route the gateway never matched.
		return refuseDelim
	}
	return keepEscaped
}

// MatchKey is the form of a normalised path p that routes are matched in:
// the escapes Normalize keeps of characters a path carries raw (the
// sub-delims but ';', ':' and '@': isRawPathChar) are decoded, as
// applications decode them. "/%40admin" is forwarded as it was written but
// decided as "/@admin", the path the application serves. Without such an
// escape p itself is returned, without allocating.
func MatchKey(p string) string {
	var b []byte
	done := 0 // p[:done] is in b
	for i := 0; i+2 < len(p); i++ {
		if p[i] != '%' || !isHex(p[i+1]) || !isHex(p[i+2]) {
			continue
		}
		v := unhex(p[i+1])<<4 | unhex(p[i+2])
		if v == '/' || !isRawPathChar(v) {
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(p))
		}
		b = append(append(b, p[done:i]...), v)
		done = i + 3
		i += 2
	}
	if b == nil {
		return p
	}
	return string(append(b, p[done:]...))
}

// isUnreserved reports RFC 3986 §2.3 unreserved characters.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// isRawPathChar reports the characters a normal path carries unencoded:
// RFC 3986 pchar (§3.3) without ';', which docs/requests.md refuses because
// upstreams read it as a path-parameter delimiter, plus the "/" separator.
func isRawPathChar(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '/', '!', '$', '&', '\'', '(', ')', '*', '+', ',', '=', ':', '@':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isUpperHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func appendEscape(b []byte, v byte) []byte {
	const digits = "0123456789ABCDEF"
	return append(b, '%', digits[v>>4], digits[v&15])
}

// utf8Check validates a byte stream as UTF-8 one byte at a time, without
// buffering the whole decoded path, and notes an ASCII look-alike.
type utf8Check struct {
	buf       [utf8.UTFMax]byte
	n         int
	bad       bool
	control   bool // a C1 control character or a line separator was seen
	lookalike bool // a character ascii.NFKCLookalike reports was seen
}

func (u *utf8Check) feed(c byte) {
	if u.n == 0 && c < utf8.RuneSelf {
		return
	}
	u.buf[u.n] = c
	u.n++
	if !utf8.FullRune(u.buf[:u.n]) {
		return
	}
	r, size := utf8.DecodeRune(u.buf[:u.n])
	if r == utf8.RuneError && size <= 1 || size != u.n {
		u.bad = true
	} else if r <= 0x9f || r == '\u2028' || r == '\u2029' {
		// A C1 control (U+0080-U+009F), a control character as 0x00-0x1F
		// are, or the line or paragraph separator: NEL (U+0085) and the
		// separators end a line for Python's splitlines, Java's regexes,
		// JavaScript and log viewers, so they would split the upstream's
		// lines (the header rule, idp.HeaderValue, refuses the same).
		u.control = true
	} else if ascii.NFKCLookalike(r) {
		u.lookalike = true
	}
	u.n = 0
}
