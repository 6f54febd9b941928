package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
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
)

// formOf returns what r's body may be read as, as leniently as the
// frameworks read it (the media type ends at ";", "," or a space; any
// multipart type counts), and a multipart boundary. Only such bodies are
// read for the decision (readForm). Two Content-Type headers, or a
// multipart type without a single boundary, are a 400: the gateway and the
// application could read them differently.
func formOf(r *http.Request) (formKind, string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return 0, "", nil
	}
	cts := r.Header["Content-Type"]
	switch {
	case len(cts) > 1:
		return 0, "", badRequest("more than one Content-Type header", nil)
	case len(cts) == 0 || strings.TrimSpace(cts[0]) == "":
		if r.Method == http.MethodPost {
			return urlencodedForm, "", nil // Rack parses a POST without a type as a form
		}
		return 0, "", nil
	}
	ct := cts[0]
	if !containsFold(ct, "form") && !containsFold(ct, "json") && !containsFold(ct, "multipart") {
		return 0, "", nil // the hot path: no parse
	}
	var kind formKind
	if containsFold(ct, "/json") || containsFold(ct, "+json") {
		kind |= jsonForm
	}
	mt := strings.ToLower(strings.TrimSpace(ct))
	if i := strings.IndexAny(mt, ";, \t"); i >= 0 {
		mt = mt[:i]
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		kind |= urlencodedForm
	case strings.HasPrefix(mt, "multipart/"):
		_, params, err := mime.ParseMediaType(ct)
		if err != nil || params["boundary"] == "" || strings.Count(strings.ToLower(ct), "boundary") != 1 {
			return 0, "", badRequest("a multipart Content-Type without a single boundary", nil)
		}
		return kind | multipartForm, params["boundary"], nil
	}
	return kind, "", nil
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
		abandonBody(ex)
		return 0, "", bodyError(err)
	}
	ex.body, ex.form = body, kind
	return kind, boundary, nil
}

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

// isOverrideName reports whether a parameter name reads as "_method" to
// one of the frameworks, in any case: PHP turns "." and " " into "_" and
// drops leading spaces, Rack drops brackets ("[_method]", "_method[]").
func isOverrideName(k string) bool {
	k = strings.TrimSpace(k)
	var b [len(overrideParam)]byte
	n := 0
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch c {
		case '[', ']':
			continue
		case '.', ' ':
			c = '_'
		}
		if n == len(b) {
			return false
		}
		b[n] = c
		n++
	}
	return n == len(b) && strings.EqualFold(string(b[:]), overrideParam)
}

// eachParam calls fn with the value of every parameter of a query string
// or URL-encoded form that isOverrideName, however it is percent-encoded,
// with & or ; between parameters. A value whose escapes are malformed is
// passed as it is.
func eachParam(s string, fn func(string)) {
	if !hasMethodWord(s) && strings.IndexByte(s, '%') < 0 {
		return // the common case: not named, not even encoded
	}
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '&' || c == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if !isOverrideName(k) {
			continue
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		fn(strings.Clone(v)) // s may be a view of a pooled buffer
	}
}

// maxOverrideValue bounds what is read of a _method part.
const maxOverrideValue = 64

// eachPart calls fn with the value of every part of a multipart body whose
// name isOverrideName, within the bytes read (a part cut off is read as
// far as it goes). A part's names are every name the frameworks might
// take: Go's (RFC 2231 included), each name= of its Content-Disposition
// whatever the disposition (Rack and PHP read them with patterns), and its
// Content-ID (Rack's fallback).
func eachPart(data []byte, boundary string, fn func(string)) {
	if v := view(data); !hasMethodWord(v) && !containsFold(v, "name*") {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return
		}
		if !partNamed(p) {
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxOverrideValue+1))
		fn(string(v)) // a part cut off is judged on what arrived
		if err != nil {
			return
		}
	}
}

// partNamed reports whether any of a part's names (eachPart) isOverrideName.
func partNamed(p *multipart.Part) bool {
	if isOverrideName(p.FormName()) || isOverrideName(strings.Trim(p.Header.Get("Content-ID"), "<> ")) {
		return true
	}
	for _, d := range p.Header.Values("Content-Disposition") {
		for rest := d; ; {
			i := indexFold(rest, "name")
			if i < 0 {
				break
			}
			before := byte(';')
			if i > 0 {
				before = rest[i-1]
			}
			rest = strings.TrimLeft(rest[i+len("name"):], " \t")
			if before != ';' && before != ' ' && before != '\t' || !strings.HasPrefix(rest, "=") {
				continue // filename=, name*=, or not a parameter
			}
			rest = strings.TrimLeft(rest[1:], " \t")
			var name string
			if strings.HasPrefix(rest, `"`) {
				name, _, _ = strings.Cut(rest[1:], `"`)
			} else {
				name, _, _ = strings.Cut(rest, ";")
			}
			if isOverrideName(name) {
				return true
			}
		}
	}
	return false
}

// eachField calls fn with the value of every top-level member of a JSON
// object whose name isOverrideName (escapes in names are decoded), within
// the bytes read: a body cut off is read as far as it goes. A value that
// is not a string is passed as its JSON text, which no method name
// matches.
func eachField(data []byte, fn func(string)) {
	if v := view(data); !hasMethodWord(v) && !strings.Contains(v, `\u`) {
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
		if key, _ := t.(string); isOverrideName(key) {
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
