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

	"github.com/portcullis/portcullis/policy"
)

// overrideParam is the form and query parameter by which Rails (Rack's
// MethodOverride), Laravel, Symfony, Spring's HiddenHttpMethodFilter and
// Express's method-override turn a POST into another method: a browser
// form can only send GET and POST, so `<input type="hidden" name="_method"
// value="delete">` makes the application perform a DELETE. The gateway
// forwards the POST as it is (removing the parameter would break those
// forms) and decides it as both methods (decideOverride).
const overrideParam = "_method"

// formKind is the kind of form a request body is, by its Content-Type.
type formKind uint8

const (
	notForm formKind = iota
	urlencodedForm
	multipartForm
	jsonForm // Laravel reads _method from a JSON body too
)

// formOf returns the kind of form r's body is, read as leniently as the
// frameworks read it, and for multipart its boundary. Only these bodies
// are read before the decision (readForm). Two Content-Type headers, or a
// multipart one without a boundary, are a 400: the gateway and the
// application could read them differently.
func formOf(r *http.Request) (formKind, string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return notForm, "", nil
	}
	cts := r.Header["Content-Type"]
	switch {
	case len(cts) > 1:
		return notForm, "", badRequest("more than one Content-Type header", nil)
	case len(cts) == 0 || strings.TrimSpace(cts[0]) == "":
		if r.Method == http.MethodPost {
			return urlencodedForm, "", nil // Rack parses a POST without a type as a form
		}
		return notForm, "", nil
	}
	ct := cts[0]
	if !containsFold(ct, "form") && !containsFold(ct, "json") {
		return notForm, "", nil // the hot path: no parse
	}
	mt, _, _ := strings.Cut(ct, ";")
	switch mt = strings.ToLower(strings.TrimSpace(mt)); {
	case mt == "application/x-www-form-urlencoded":
		return urlencodedForm, "", nil
	case mt == "multipart/form-data":
		if _, params, err := mime.ParseMediaType(ct); err == nil && params["boundary"] != "" {
			return multipartForm, params["boundary"], nil
		}
		return notForm, "", badRequest("a multipart/form-data Content-Type without a boundary", nil)
	case strings.Contains(mt, "/json") || strings.Contains(mt, "+json"):
		return jsonForm, "", nil
	}
	return notForm, "", nil
}

// readForm reads a form body before the decision (proxy mode), into the
// exchange's pre-read body (preRead: pooled buffers, a timeout, at most
// preReadLimit bytes, the rest streaming), so that the decision can look
// at its parameters (access_token, _method) and the same bytes are then
// forwarded. It returns the form's kind and boundary.
func (h *Handler) readForm(ex *exchange, r *http.Request) (formKind, string, error) {
	kind, boundary, err := formOf(r)
	if kind == notForm {
		return notForm, "", err
	}
	body, err := preRead(ex, r, h.bodies, true)
	if err != nil {
		abandonBody(ex)
		return notForm, "", bodyError(err)
	}
	ex.body, ex.form = body, kind
	return kind, boundary, nil
}

// formData is the part of the body readForm read: the whole form, or its
// first preReadLimit bytes.
func (ex *exchange) formData() []byte {
	if ex.body == nil {
		return nil
	}
	return ex.body.data
}

// methodOverride returns the method a POST asks the application to perform
// in its _method parameters (query string, and the form body readForm
// read), upper-cased as the frameworks do, or "" when there is none or it
// names POST. Parameters that name different methods, or a value that is
// not a method name, are a 400; CONNECT, TRACE and TRACK a 405.
func methodOverride(rawQuery string, kind formKind, boundary string, form []byte) (string, error) {
	var names []string
	add := func(v string) { names = append(names, strings.ToUpper(strings.TrimSpace(v))) }
	eachParam(rawQuery, overrideParam, add)
	switch kind {
	case urlencodedForm:
		eachParam(string(form), overrideParam, add)
	case multipartForm:
		eachPart(form, boundary, overrideParam, add)
	case jsonForm:
		eachField(form, overrideParam, add)
	}
	if len(names) == 0 {
		return "", nil
	}
	m := names[0]
	for _, n := range names[1:] {
		if n != m {
			return "", badRequest("the _method parameters name different methods", nil)
		}
	}
	if !policy.ValidMethod(m) {
		return "", badRequest("the _method parameter does not name a method", nil)
	}
	if e := checkMethod(m); e != nil {
		return "", e
	}
	if m == http.MethodPost {
		return "", nil
	}
	return m, nil
}

// eachParam calls fn with the value of every parameter of a query string or
// URL-encoded form named name (compared case-insensitively, however it is
// percent-encoded, with & or ; between parameters). A value whose escapes
// are malformed is passed as it is.
func eachParam(s, name string, fn func(string)) {
	if !hasName(s, name) && strings.IndexByte(s, '%') < 0 {
		return // the common case: not named, not even encoded
	}
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '&' || c == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		if u, err := url.QueryUnescape(k); err == nil {
			k = u
		}
		if !strings.EqualFold(strings.TrimSpace(k), name) {
			continue
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		fn(v)
	}
}

// maxOverrideValue bounds what is read of a _method part.
const maxOverrideValue = 64

// eachPart calls fn with the value of every part of a multipart form named
// name (case-insensitively), within the bytes read (a part cut off by the
// end of data is read as far as it goes).
func eachPart(data []byte, boundary, name string, fn func(string)) {
	// A view, not a copy, of what may be 64 KiB of upload: it is only
	// read. A name may also be RFC 2231-encoded (name*=UTF-8''%5Fmethod).
	if v := view(data); !hasName(v, name) && !containsFold(v, "name*") {
		return
	}
	mr := multipart.NewReader(bytes.NewReader(data), boundary)
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return
		}
		if strings.EqualFold(p.FormName(), name) {
			v, err := io.ReadAll(io.LimitReader(p, maxOverrideValue+1))
			fn(string(v)) // a part cut off is judged on what arrived
			if err != nil {
				return
			}
		}
	}
}

// eachField calls fn with the value of every top-level member of a JSON
// object named name (case-insensitively; escapes in names are decoded),
// within the bytes read: a body cut off is read as far as it goes. A value
// that is not a string is passed as its JSON text, which no method name
// matches.
func eachField(data []byte, name string, fn func(string)) {
	if v := view(data); !hasName(v, name) && !strings.Contains(v, `\u`) {
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
		if key, _ := t.(string); strings.EqualFold(key, name) {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			fn(s)
		}
	}
}

// hasName reports whether s contains name (which starts with a byte that
// has no case, "_") in any case: a jump from one such byte to the next,
// fast on bodies of tens of kilobytes.
func hasName(s, name string) bool {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], name[0])
		if j < 0 {
			return false
		}
		i += j
		if len(s)-i >= len(name) && strings.EqualFold(s[i+1:i+len(name)], name[1:]) {
			return true
		}
		i++
	}
}

// view is b as a string without copying; it must only be read while b is
// not written.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
