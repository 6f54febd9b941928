package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// formKind is what a request body may be read as, by its Content-Type:
// a set, because the frameworks disagree (Laravel reads a body as JSON
// whenever the header mentions "/json", whatever its media type).
type formKind uint8

const (
	urlencodedForm formKind = 1 << iota
	multipartForm
	jsonForm

	anyForm = urlencodedForm | multipartForm | jsonForm
)

// urlencodedType is the media type of a URL-encoded form.
const urlencodedType = "application/x-www-form-urlencoded"

// cspReport is the word of application/csp-report, a type whose name has
// no "json" but whose body Koa's koa-bodyparser parses as JSON into the
// handler's ctx.request.body: its access_token passed unread.
const cspReport = "csp-report"

// formOf returns what r's body may be read as, as leniently as the
// frameworks read it (the media type ends at ";", "," or a space; any
// type that begins with urlencodedType and any multipart type count), and
// a multipart boundary. Only such bodies are read for the decision
// (readForm). Two Content-Type headers, or a multipart type without a
// single boundary, are a 400: the gateway and the application could read
// them differently.
func formOf(r *http.Request) (formKind, string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return 0, "", nil
	}
	cts := r.Header["Content-Type"]
	switch {
	case len(cts) > 1:
		return 0, "", badRequest("more than one Content-Type header", nil)
	case len(cts) == 0 || strings.TrimSpace(cts[0]) == "":
		return untypedForm(r.Method), "", nil
	}
	ct := cts[0]
	if !containsFold(ct, "form") && !containsFold(ct, "json") && !containsFold(ct, "multipart") &&
		!containsFold(ct, cspReport) {
		return 0, "", nil // the hot path: no parse
	}
	var kind formKind
	if containsFold(ct, "/json") || containsFold(ct, "+json") || containsFold(ct, cspReport) {
		kind |= jsonForm
	}
	mt := strings.ToLower(strings.TrimSpace(ct))
	if i := strings.IndexAny(mt, ";, \t"); i >= 0 {
		mt = mt[:i]
	}
	// Classic ASP.NET (Request.Form) and Perl's CGI.pm read a body as a
	// form when its type only begins with the form's: to them
	// "application/x-www-form-urlencodedx" is one, and MVC takes its
	// X-HTTP-Method-Override field.
	urlencoded := strings.HasPrefix(mt, urlencodedType)
	// Express's JSON parser decodes a body in its charset, UTF-16 too.
	textual := urlencoded || kind&jsonForm != 0 || strings.HasPrefix(mt, "multipart/")
	if textual && !asciiCharset(ct) {
		return 0, "", badRequest(errNotASCII.Error(), errNotASCII)
	}
	switch {
	case urlencoded:
		kind |= urlencodedForm
	case strings.HasPrefix(mt, "multipart/"):
		b, err := multipartBoundary(ct)
		if err != nil {
			return 0, "", err
		}
		return kind | multipartForm, b, nil
	}
	return kind, "", nil
}

// errNotASCII is the cause of formOf's 400 for a form or JSON body in a
// character set that is not ASCII-compatible: formToken refuses it for
// every method, where formOf's other refusals only concern a POST.
var errNotASCII = errors.New("a form or JSON body in a character set that is not ASCII-compatible")

// untypedForm is what a body without a Content-Type is read as: a
// URL-encoded form for a POST (Rack parses one so) and for a PUT or PATCH,
// whose untyped body Perl's CGI.pm parses into its params as a POST's;
// its param("access_token") took a token from one the gateway never read.
func untypedForm(method string) formKind {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return urlencodedForm
	}
	return 0
}

// multipartBoundary is the boundary of a multipart Content-Type, or a 400
// when the parsers an application may use could read another: Go's (a
// parameter), Rack's pattern (the last "boundary=", up to a quote, ';' or
// ','; laxParam reads the first), PHP's (the first "boundary", searched
// case-sensitively and then in any case, to the '=' after it), an RFC
// 2047 word. Only the word followed by '=' names a boundary, so a value
// may hold it: Chromium's and Safari's are "----WebKitFormBoundary" and 16
// characters, refused with every upload when the word was counted.
func multipartBoundary(ct string) (string, error) {
	_, params, err := mime.ParseMediaType(ct)
	b := params["boundary"]
	lower := strings.ToLower(ct)
	at := strings.Index(lower, "boundary=")
	if err != nil || b == "" || at < 0 || strings.Count(lower, "boundary=") != 1 ||
		strings.Index(lower, "boundary") != at || !sameOrNone(strings.Index(ct, "boundary"), at) ||
		laxParam(ct, "boundary") != b || strings.Contains(b, "=?") {
		return "", badRequest("a multipart Content-Type without a single, plain boundary", nil)
	}
	return b, nil
}

// sameOrNone reports whether index i, of a search that may find nothing
// (-1), is at.
func sameOrNone(i, at int) bool { return i < 0 || i == at }

// laxParam is a Content-Type parameter as Rack's and PHP's patterns read
// it: after the first "name=", an optional quote, up to a quote, ";" or
// ","; "" when there is none.
func laxParam(ct, name string) string {
	i := indexFold(ct, name+"=")
	if i < 0 {
		return ""
	}
	v := strings.TrimPrefix(ct[i+len(name)+1:], `"`)
	if j := strings.IndexAny(v, `";,`); j >= 0 {
		v = v[:j]
	}
	return v
}

// asciiCharset reports whether a form's charset parameter, if any, names
// an ASCII-compatible encoding: in UTF-16 or an EBCDIC code page (which
// Java servlet containers decode) "_method" would be other bytes than the
// gateway looks for, and in ISO-2022-JP, HZ or UTF-7 an escape switches
// what the same bytes mean. The East Asian and Cyrillic encodings
// (legacyASCIISupersets) are read as sent: the letters, digits, "_", "&",
// "=", "%" and "+" are each their one ASCII byte in them, as in UTF-8, and
// the frameworks split a form at "&" and "=" before they decode its names.
func asciiCharset(ct string) bool {
	cs := strings.ToLower(strings.TrimSpace(laxParam(ct, "charset")))
	if i := strings.IndexAny(cs, " \t"); i >= 0 {
		cs = cs[:i]
	}
	switch {
	case cs == "", cs == "utf-8", cs == "utf8", cs == "us-ascii", cs == "ascii", cs == "latin1":
		return true
	case strings.HasPrefix(cs, "iso-8859-"), strings.HasPrefix(cs, "windows-125"), strings.HasPrefix(cs, "cp125"):
		return true
	}
	return legacyASCIISupersets[cs]
}

// legacyASCIISupersets are the labels (lower-cased) of the multi-byte
// encodings that keep ASCII's letters and punctuation as their bytes, which Java clients name
// in a form's Content-Type (Apache HttpClient's UrlEncodedFormEntity,
// Spring's FormHttpMessageConverter): Shift_JIS and its Windows form,
// EUC-JP, the GB family, Big5, EUC-KR and its Windows form, and KOI8.
var legacyASCIISupersets = map[string]bool{
	"shift_jis": true, "shift-jis": true, "sjis": true, "x-sjis": true, "windows-31j": true, "cp932": true,
	"ms932": true, "euc-jp": true, "x-euc-jp": true, "gbk": true, "gb2312": true, "gb18030": true,
	"cp936": true, "big5": true, "big5-hkscs": true, "cp950": true, "euc-kr": true, "cp949": true,
	"ks_c_5601-1987": true, "koi8-r": true, "koi8-u": true,
}

// readForm reads a form or JSON body into the exchange's pre-read body
// (preRead: pooled buffers, a timeout, at most preReadLimit bytes, the
// rest streaming) once the decision forwards the request, so that its
// parameters (access_token, _method) can be checked and the same bytes are
// then forwarded.
func (h *Handler) readForm(ex *exchange, r *http.Request) (formKind, string, error) {
	kind, boundary, err := formOf(r)
	if kind == 0 {
		return 0, "", err
	}
	body, err := preRead(ex, r, h.bodies, true)
	if err != nil {
		abandonBody(ex, r)
		return 0, "", bodyError(err)
	}
	ex.body, ex.form = body, kind
	if kind&jsonForm != 0 && !encoded(r.Header) && wideJSON(body.data) {
		return 0, "", badRequest("a JSON body that is not UTF-8", nil)
	}
	return kind, boundary, nil
}

// wideJSON reports whether a JSON body begins as UTF-16 or UTF-32 text
// does: a byte order mark of either, or a NUL in its first four bytes (a
// compressed body is not text: unreadBody decides it).
// Python's json.loads (Flask's get_json) detects those encodings so, with
// no charset named, and read {"access_token":…} in UTF-16 that the
// gateway could not parse.
func wideJSON(data []byte) bool {
	if len(data) >= 2 && (data[0] == 0xFE && data[1] == 0xFF || data[0] == 0xFF && data[1] == 0xFE) {
		return true
	}
	return bytes.IndexByte(data[:min(len(data), 4)], 0) >= 0
}

// bodyText is a form or JSON body without the UTF-8 byte order marks it
// begins with: Express's body parsers (raw-body, iconv-lite) and Flask's
// get_json drop one before they parse, so "\uFEFF_method=DELETE" was an
// Express DELETE and a JSON body after a mark a parsed object, which the
// gateway, reading the bytes as sent, did not see.
func bodyText(data []byte) []byte {
	for bytes.HasPrefix(data, utf8BOM) {
		data = data[len(utf8BOM):]
	}
	return data
}

// utf8BOM is U+FEFF in UTF-8.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// formData is the part of the body readForm read: the whole body, or its
// first preReadLimit bytes and one more.
func (ex *exchange) formData() []byte {
	if ex.body == nil {
		return nil
	}
	return ex.body.data
}

// formCut reports whether readForm read only the start of a longer body:
// a parameter past it cannot be seen.
func (ex *exchange) formCut() bool {
	return ex.form != 0 && ex.body != nil && len(ex.body.data) > preReadLimit
}

// isOverrideName reports whether a parameter name reads as "_method", or
// as ASP.NET MVC's "X-HTTP-Method-Override", to one of the frameworks
// (isParamName).
func isOverrideName(k string) bool {
	return isParamName(k, overrideParam) || isParamName(k, overrideField)
}

// isParamName reports whether a (decoded) parameter name k reads as the
// name want (at most 32 bytes) to one of the frameworks, in any case: PHP
// turns "." and " " into "_", drops leading spaces and ends a name at a
// NUL; Rack drops brackets ("[_method]", "_method[]"); PHP also turns a
// "[" that no "]" follows into "_" ("access[token" is access_token). A
// name is also want when what comes before its brackets is (indexedBase):
// "_method[0]" is a list named _method to Express's qs, PHP and Rack, and
// so is its spelling with dots for Koa's (dotsAsBrackets).
func isParamName(k, want string) bool {
	if i := strings.IndexByte(k, 0); i >= 0 {
		k = k[:i] // PHP's names end at a NUL
	}
	k = asciiFold(strings.TrimSpace(k))
	if readsAs(k, want, -1) || readsAs(indexedBase(k), want, -1) ||
		readsAs(indexedBase(dotsAsBrackets(k)), want, -1) {
		return true
	}
	// PHP: a name whose first "[" opens no index keeps it, as "_"
	// (php_register_variable_ex, "not an index").
	open := strings.IndexByte(k, '[')
	return open >= 0 && strings.IndexByte(k[open:], ']') < 0 && readsAs(k, want, open)
}

// asciiFold returns k with each letter that Unicode's simple case folding
// makes an ASCII one written as that letter: the long s "ſ" as s and the
// Kelvin sign as k. Go's encoding/json (gin's and echo's binding) matches
// a JSON member to a field's name so, and bound {"acceſs_token":…} as
// access_token, which the gateway's ASCII comparison did not.
func asciiFold(k string) string {
	if !strings.ContainsAny(k, asciiFoldRunes) {
		return k
	}
	return strings.Map(func(r rune) rune {
		for f := unicode.SimpleFold(r); r >= utf8.RuneSelf && f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				return f
			}
		}
		return r
	}, k)
}

// asciiFoldRunes are the runes outside ASCII whose simple case folding
// holds an ASCII letter (TestASCIIFoldRunes checks the list).
const asciiFoldRunes = "\u017f\u212a"

// indexedBase returns the name that the parsers of bracketed names give a
// list or a map: k without its leading brackets, up to its next "[" or
// "]" ("" when there is none). Express's qs and PHP cut at the "[" of
// "_method[0]", Rack (normalize_params) at the first "[" or "]" after the
// leading ones: "access_token]x" is a map named access_token to Rack.
// Express's method-override takes a list's first value as the method, so
// a POST of _method[0]=DELETE, which only dropping the brackets read as
// "_method0", was a DELETE decided as a POST; access_token[0] was
// Express's req.query.access_token and passed. Whatever the brackets
// hold, the name is read as the one before them: a refusal is the safe
// error.
func indexedBase(k string) string {
	k = strings.TrimLeft(k, "[]")
	if i := strings.IndexAny(k, "[]"); i >= 0 {
		return k[:i]
	}
	return ""
}

// dotsAsBrackets is k as qs reads it with allowDots, which co-body (Koa's
// koa-bodyparser) turns on: each "." and the text after it up to the next
// "." or "[" is that text in brackets, so "access_token.x" is
// "access_token[x]" (a map named access_token) and ".access_token" is
// "[access_token]", the name itself. k is returned as it is when it holds
// no such dot.
func dotsAsBrackets(k string) string {
	if !strings.Contains(k, ".") {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		end := i + 1
		for end < len(k) && k[end] != '.' && k[end] != '[' {
			end++
		}
		if k[i] != '.' || end == i+1 {
			b.WriteByte(k[i])
			continue
		}
		b.WriteString("[" + k[i+1:end] + "]")
		i = end - 1
	}
	return b.String()
}

// readsAs reports whether k reads as want with "." and " " as "_" and the
// brackets dropped, but for the one at index open (-1: none), read as "_".
func readsAs(k, want string, open int) bool {
	var buf [32]byte
	b := buf[:len(want)]
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case i == open:
			c = '_'
		case c == '[' || c == ']':
			continue
		case c == '.' || c == ' ':
			c = '_'
		}
		if n == len(b) {
			return false
		}
		b[n] = c
		n++
	}
	return n == len(b) && strings.EqualFold(string(b), want)
}

// eachParam calls fn with the value of every parameter of a query string
// or URL-encoded form that isOverrideName, with & or ; between parameters.
// Names and values are decoded as PHP decodes them (lenientUnescape): a
// malformed escape does not hide the rest of a name.
func eachParam(s string, fn func(string)) {
	if !hasMethodWord(s) && strings.IndexByte(s, '%') < 0 {
		return // the common case: not named, not even encoded
	}
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '&' || c == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		if !isOverrideName(lenientUnescape(k)) {
			continue
		}
		fn(lenientUnescape(v)) // a copy: s may be a view of a pooled buffer
	}
}

// lenientUnescape decodes "+", every well-formed %XX escape of s and every
// %uXXXX escape, and keeps malformed ones as they are (PHP's urldecode);
// the result is a new string. Classic ASP.NET (HttpUtility.UrlDecode) and
// Perl's CGI.pm decode %uXXXX too: "access%u005Ftoken" is access_token to
// them. Read as PHP reads it, that name kept its "%u005F" and passed, and
// since the query reaches the application as sent, url.ParseQuery no
// longer drops it. A name that PHP reads as a parameter's holds no '%', so
// decoding more escapes only finds more names.
func lenientUnescape(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			c = ' '
		} else if r, n := unicodeEscape(s[i:]); n > 0 {
			b = utf8.AppendRune(b, r)
			i += n - 1
			continue
		} else if c == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				c = byte(v)
				i += 2
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// unicodeEscape reads a %uXXXX escape (u in either case) at the start of s:
// its code point and length, or 0 when s starts with none.
func unicodeEscape(s string) (rune, int) {
	if len(s) < 6 || s[0] != '%' || s[1] != 'u' && s[1] != 'U' {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[2:6], 16, 16)
	if err != nil {
		return 0, 0
	}
	return rune(v), 6
}

// eachField calls fn with the value of every top-level member of a JSON
// object whose name isOverrideName (escapes in names are decoded), within
// the bytes read: a body cut off is read as far as it goes. A value that
// is not a string is passed as its JSON text, which no method name
// matches.
func eachField(data []byte, fn func(string)) {
	eachNamedField(data, "method", isOverrideName, fn)
}

// eachNamedField is eachField for the members whose name is(name); a body
// that holds neither word (in any case), an escape nor an asciiFoldRunes
// letter is not parsed.
func eachNamedField(data []byte, word string, is func(string) bool, fn func(string)) {
	if v := view(data); indexFold(v, word) < 0 && !strings.Contains(v, `\u`) &&
		!strings.ContainsAny(v, asciiFoldRunes) {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return
		}
		if key, _ := t.(string); is(key) {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			fn(s)
		}
	}
}

// hasMethodWord reports whether s contains "method" in any case: the
// cheap test before a body is parsed for _method.
func hasMethodWord(s string) bool { return indexFold(s, "method") >= 0 }

// indexFold is the index of the lower-case ASCII word w in s, in any
// case, or -1.
func indexFold(s, w string) int {
	lo, up := w[0], w[0]-'a'+'A'
	for i := 0; i+len(w) <= len(s); i++ {
		if c := s[i]; (c == lo || c == up) && strings.EqualFold(s[i:i+len(w)], w) {
			return i
		}
	}
	return -1
}

// view is b as a string without copying; it must only be read while b is
// not written, and nothing derived from it may be kept.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
