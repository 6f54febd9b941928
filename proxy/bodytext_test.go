package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestBodyReadAsDecoded checks the readings behind
// TestExpressReadsBodyAsDecoded: a form or JSON body is read after the
// UTF-8 byte order marks it begins with, which Express's and Flask's
// parsers drop, and a JSON body that begins as UTF-16 or UTF-32 text does
// (Python's json.loads reads it so without a charset) is recognised.
func TestBodyReadAsDecoded(t *testing.T) {
	const bom = "\uFEFF"
	for _, tc := range []struct {
		kind formKind
		body string
	}{
		{urlencodedForm, bom + "_method=DELETE"},
		{urlencodedForm, bom + bom + "_method=DELETE"},
		{jsonForm, bom + `{"_method":"DELETE"}`},
	} {
		if m, err := methodOverride("", tc.kind, "", []byte(tc.body), false); m != "DELETE" || err != nil {
			t.Errorf("_method of %q: %q, %v; want DELETE", tc.body, m, err)
		}
	}
	for _, tc := range []struct {
		kind formKind
		body string
	}{
		{urlencodedForm, bom + "access_token=tok"},
		{jsonForm, bom + `{"access_token":"tok"}`},
	} {
		if !bodyHasAccessToken(tc.kind, []byte(tc.body), "") {
			t.Errorf("%q: access_token not found", tc.body)
		}
	}
	for body, want := range map[string]bool{
		"\xff\xfe{\x00": true, "\xfe\xff\x00{": true, "{\x00\"\x00": true, "\x00\x00\x00{": true,
		`{"a":1}`: false, bom + `{"a":1}`: false, "": false, "{": false,
	} {
		if got := wideJSON([]byte(body)); got != want {
			t.Errorf("wideJSON(%q) = %v, want %v", body, got, want)
		}
	}
}

// TestASCIIFoldRunes checks asciiFoldRunes against Unicode: every rune
// outside ASCII whose simple case folding holds an ASCII letter is in it.
func TestASCIIFoldRunes(t *testing.T) {
	for r := rune(utf8.RuneSelf); r <= unicode.MaxRune; r++ {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf && !strings.ContainsRune(asciiFoldRunes, r) {
				t.Errorf("%U folds to %q and is not in asciiFoldRunes", r, f)
			}
		}
	}
	for _, k := range []string{"acce\u017fs_token", "ACCESS_TO\u212aEN", "acce\u017f\u017f_token"} {
		if !isAccessTokenName(k) {
			t.Errorf("%q is not read as access_token", k)
		}
	}
}

// TestDotsAsBrackets checks dotsAsBrackets against qs 6's allowDots
// (key.replace(/\.([^.[]+)/g, '[$1]')), as co-body reads form names.
func TestDotsAsBrackets(t *testing.T) {
	for in, want := range map[string]string{
		"access_token.x": "access_token[x]", ".access_token": "[access_token]", "a.b.c": "a[b][c]",
		"..a": ".[a]", "a..b": "a.[b]", "a.": "a.", "a.[b]": "a.[b]", "a.b[c].d": "a[b][c][d]", "ab": "ab",
	} {
		if got := dotsAsBrackets(in); got != want {
			t.Errorf("dotsAsBrackets(%q) = %q, want %q", in, got, want)
		}
	}
	for _, k := range []string{"access_token.x", "access_token.0", ".access_token", "._method"} {
		if !isAccessTokenName(k) && !isOverrideName(k) {
			t.Errorf("%q is not read as access_token or _method", k)
		}
	}
}

// TestCSPReportIsJSON checks that a body of koa-bodyparser's JSON type
// application/csp-report is read as JSON.
func TestCSPReportIsJSON(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/", strings.NewReader(`{"access_token":"t"}`))
	r.Header.Set("Content-Type", "application/csp-report")
	if kind, _, err := formOf(r); kind&jsonForm == 0 || err != nil {
		t.Errorf("application/csp-report: kind %b, %v; want JSON", kind, err)
	}
}
