package e2e

import (
	"net/http"
	"testing"
	"unicode/utf16"
)

// utf16LE is s in UTF-16, little-endian, as a client that names
// "charset=utf-16le" sends it.
func utf16LE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// TestExpressReadsBodyAsDecoded puts a real Express application behind the
// gateway and sends bodies whose text Express's body parsers decode before
// they parse it: raw-body's decoder (iconv-lite) drops a leading UTF-8
// byte order mark, and a JSON body is decoded in its charset, UTF-16
// included. The gateway parsed the bytes as sent: a form whose first name
// was "\uFEFF_method" and a JSON body that began with the mark or was
// UTF-16 named nothing to it, so a POST that Express dispatched as a
// DELETE was decided as a POST, and an access_token in such a body passed.
// The mark is now skipped before a form or JSON body is read, and a JSON
// body in a charset that is not ASCII-compatible is a 400, as a form is.
func TestExpressReadsBodyAsDecoded(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "express", startExpress(t), true)
	const bom, form, js = "\uFEFF", "application/x-www-form-urlencoded", "application/json"
	for _, tc := range []struct {
		method, ctype, body string
		want                int
	}{
		{http.MethodPost, form, bom + "a=1", http.StatusOK},
		{http.MethodPost, js, bom + `{"a":1}`, http.StatusOK},
		{http.MethodPost, form, bom + "_method=DELETE", http.StatusForbidden},
		{http.MethodPost, js, bom + `{"_method":"DELETE"}`, http.StatusForbidden},
		{http.MethodPost, js, bom + `{"access_token":"tok"}`, http.StatusBadRequest},
		{http.MethodPut, form, bom + "access_token=tok", http.StatusBadRequest},
		{http.MethodPut, js, bom + `{"access_token":"tok"}`, http.StatusBadRequest},
		{http.MethodPost, js + "; charset=utf-16le", utf16LE(`{"_method":"DELETE"}`), http.StatusBadRequest},
		{http.MethodPut, js + "; charset=utf-16", utf16LE(bom + `{"access_token":"tok"}`), http.StatusBadRequest},
	} {
		code, got := askApp(t, tc.method, gw.URL+"/items/1", tc.ctype, tc.body, ck)
		if code != tc.want || code == http.StatusOK && got.Method != tc.method {
			t.Errorf("%s %s %q: %d (Express dispatched %q, body %v); want %d",
				tc.method, tc.ctype, tc.body, code, got.Method, got.Body, tc.want)
		}
	}
}
