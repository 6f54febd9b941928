package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/policy"
)

func TestMethodOverrideParsing(t *testing.T) {
	multi := func(fields ...string) ([]byte, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			_ = w.WriteField(fields[i], fields[i+1])
		}
		_ = w.Close()
		return b.Bytes(), w.Boundary()
	}
	mp, boundary := multi("authenticity_token", "x", "_method", "patch", "title", "t")
	mpTwo, boundaryTwo := multi("_method", "delete", "_METHOD", "put")
	tests := []struct {
		name, query string
		kind        formKind
		boundary    string
		form        string
		cut         bool // more of the body followed
		want        string
		status      int // of the refusal; 0 = none
	}{
		{name: "none", query: "a=1", want: ""},
		{name: "query", query: "a=1&_method=delete", want: "DELETE"},
		{name: "query encoded name", query: "%5Fmethod=DELETE", want: "DELETE"},
		{name: "query name in any case", query: "_Method=put", want: "PUT"},
		{name: "semicolon separated", query: "a=1;_method=delete", want: "DELETE"},
		{name: "post is no override", query: "_method=post", want: ""},
		{name: "form", kind: urlencodedForm, form: "title=x&_method=patch", want: "PATCH"},
		{name: "form and query agree", query: "_method=DELETE", kind: urlencodedForm, form: "_method=delete", want: "DELETE"},
		{name: "multipart", kind: multipartForm, boundary: boundary, form: string(mp), want: "PATCH"},
		{name: "multipart cut short", kind: multipartForm, boundary: boundary, form: string(mp[:len(mp)-30]), cut: true, want: "PATCH"},
		{name: "multipart cut short, not said", kind: multipartForm, boundary: boundary, form: string(mp[:len(mp)-30]), status: 400},
		{name: "not a form", kind: 0, form: "_method=delete", want: ""},
		{name: "PHP reads . as _", kind: urlencodedForm, form: ".method=delete", want: "DELETE"},
		{name: "PHP drops a leading space", query: "+_method=delete", want: "DELETE"},
		{name: "PHP reads a space as _", query: "+method=delete", want: ""},
		{name: "Rack drops brackets", kind: urlencodedForm, form: "[_method]=delete", want: "DELETE"},
		{name: "array parameter", query: "_method[]=delete", want: "DELETE"},
		{name: "encoded letters", query: "%5F%6Dethod=delete", want: "DELETE"},
		{name: "ASP.NET and CGI.pm decode %u", query: "%u005Fmethod=delete", want: "DELETE"},
		{name: "ASP.NET MVC's query parameter", query: "X-HTTP-Method-Override=DELETE", want: "DELETE"},
		{name: "ASP.NET MVC's form field", kind: urlencodedForm, form: "a=1&x-http-method-override=put", want: "PUT"},
		{name: "another header's name", query: "X-HTTP-Method-Overrides=DELETE", want: ""},
		{name: "%u in a form", kind: urlencodedForm, form: "%U005f%u006Dethod=put", want: "PUT"},
		{name: "another name", query: "payment_method=card&x_method=1", want: ""},
		{name: "PHP ends a name at NUL", query: "_method%00x=delete", want: "DELETE"},
		{name: "a malformed escape after the NUL", query: "_method%00%=DELETE", want: "DELETE"},
		{name: "a malformed escape in the value", query: "_method=DELETE%", want: "DELETE%"},
		{name: "multipart token cut at a delimiter (Rack 2)", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=_method/x\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart name inside another parameter", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; x=\"; name=_method\"\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart header named inside another header (Rack 3.0)", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nX-Content-Disposition: form-data; name=_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart folded header", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Y: z\r\n Content-Disposition: form-data; name=_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart RFC 2047 name (Tomcat)", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"=?UTF-8?B?X21ldGhvZA==?=\"\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart RFC 2231 name in another charset", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name*=iso-8859-1''_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart header line ending in a bare LF (Tomcat)", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; a=b\nX-Y: z; name=_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart file with an encoded name", kind: multipartForm, boundary: "b",
			form: "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"=?UTF-8?B?w6k=?=\"\r\n\r\nx\r\n--b--\r\n", want: ""},
		{name: "multipart field named like it", kind: multipartForm, boundary: "b",
			form: "--b\r\nContent-Disposition: form-data; name=\"payment_method\"\r\n\r\ncard\r\n--b--\r\n", want: ""},
		{name: "multipart after an early final boundary", kind: multipartForm, boundary: "b", status: 400,
			form: "--b--\r\n--b\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart with a bad header line first", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nbroken line\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart bare-LF boundary", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\n--b\nContent-Disposition: form-data; name=\"_method\"\n\ndelete\r\n--b--\r\n"},
		{name: "multipart single-quoted name", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name='_method'\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart name cut at a blank", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=_method x\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart names that disagree", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart file holding a saved e-mail", kind: multipartForm, boundary: "b", want: "",
			form: "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"m.eml\"\r\n\r\nSubject: payment method\r\n" +
				"Content-Disposition: attachment; filename=\"=?UTF-8?B?w6k=?=.pdf\"\r\n\r\nx\r\n--b--\r\n"},
		{name: "multipart file holding a saved e-mail with LF lines", kind: multipartForm, boundary: "b", want: "",
			form: "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"m.eml\"\r\n\r\nSubject: payment method\n" +
				"Content-Disposition: attachment; filename*=UTF-8''%C3%A9.pdf\n\nx\r\n--b--\r\n"},
		{name: "multipart boundary in another case in a file", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--B\r\nContent-Disposition: form-data; name=_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart boundary inside a line of a file", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx --b\r\nContent-Disposition: form-data; name=_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart head past an LF blank line (Rack, Tomcat)", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nX-A: 1\r\n\nContent-Disposition: form-data; name=_method\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "json and form kinds", kind: urlencodedForm | jsonForm, form: `{"_method":"delete"}`, want: "DELETE"},
		{name: "multipart Content-ID", kind: multipartForm, boundary: "b",
			form: "--b\r\nContent-ID: <_method>\r\n\r\ndelete\r\n--b--\r\n", want: "DELETE"},
		{name: "multipart attachment disposition", kind: multipartForm, boundary: "b",
			form: "--b\r\nContent-Disposition: attachment; name=_method\r\n\r\ndelete\r\n--b--\r\n", want: "DELETE"},
		{name: "multipart name given twice", kind: multipartForm, boundary: "b", status: 400,
			form: "--b\r\nContent-Disposition: form-data; name=\"x\"; name=\"_method\"\r\n\r\ndelete\r\n--b--\r\n"},
		{name: "multipart file named like it", kind: multipartForm, boundary: "b",
			form: "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"_method\"\r\n\r\nx\r\n--b--\r\n", want: ""},
		{name: "json", kind: jsonForm, form: `{"title":"x","_method":"delete"}`, want: "DELETE"},
		{name: "json escaped name", kind: jsonForm, form: `{"\u005fmethod":"put"}`, want: "PUT"},
		{name: "json nested is not read", kind: jsonForm, form: `{"a":{"_method":"delete"}}`, want: ""},
		{name: "json cut short", kind: jsonForm, form: `{"_method":"patch","data":"xxxx`, want: "PATCH"},
		{name: "json not a string", kind: jsonForm, form: `{"_method":["DELETE"]}`, status: 400},
		{name: "json twice", kind: jsonForm, form: `{"_method":"GET","_method":"DELETE"}`, status: 400},
		{name: "multipart RFC 2231 name", kind: multipartForm, boundary: "b",
			form: "--b\r\nContent-Disposition: form-data; name*=UTF-8''%5Fmethod\r\n\r\ndelete\r\n--b--\r\n", want: "DELETE"},
		{name: "conflicting", query: "_method=GET&_method=DELETE", status: 400},
		{name: "conflicting form and query", query: "_method=PUT", kind: urlencodedForm, form: "_method=delete", status: 400},
		{name: "conflicting parts", kind: multipartForm, boundary: boundaryTwo, form: string(mpTwo), status: 400},
		{name: "not a method", query: "_method=DEL%20ETE", status: 400},
		{name: "empty", query: "_method=", status: 400},
		{name: "trace", query: "_method=trace", status: 405},
		{name: "connect", kind: urlencodedForm, form: "_method=CONNECT", status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := methodOverride(tt.query, tt.kind, tt.boundary, []byte(tt.form), tt.cut)
			if tt.status != 0 {
				var he *httpError
				if !errors.As(err, &he) || he.status != tt.status {
					t.Fatalf("methodOverride = %q, %v; want a %d", got, err, tt.status)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("methodOverride = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFormOf(t *testing.T) {
	tests := []struct {
		name, method string
		cts          []string
		want         formKind
		boundary     string
		bad          bool
	}{
		{"urlencoded", "PUT", []string{"application/x-www-form-urlencoded; charset=UTF-8"}, urlencodedForm, "", false},
		{"lenient type", "POST", []string{" Application/X-WWW-Form-Urlencoded ; charset"}, urlencodedForm, "", false},
		{"type ends at a comma", "POST", []string{"application/x-www-form-urlencoded, x"}, urlencodedForm, "", false},
		{"type ends at a space", "POST", []string{"application/x-www-form-urlencoded x"}, urlencodedForm, "", false},
		{"a type that begins with the form's (classic ASP.NET, CGI.pm)", "POST", []string{"application/x-www-form-urlencodedX"}, urlencodedForm, "", false},
		{"the form's type then +json", "PUT", []string{"application/x-www-form-urlencoded+json"}, urlencodedForm | jsonForm, "", false},
		{"the form's type then /x in UTF-16", "POST", []string{"application/x-www-form-urlencoded/x; charset=utf-16"}, 0, "", true},
		{"the form's type after another", "POST", []string{"text/x-www-form-urlencoded"}, 0, "", false},
		{"multipart", "POST", []string{`multipart/form-data; boundary="a b"`}, multipartForm, "a b", false},
		{"other multipart", "POST", []string{"multipart/mixed; boundary=b"}, multipartForm, "b", false},
		{"multipart without boundary", "POST", []string{"multipart/form-data"}, 0, "", true},
		{"multipart with two boundaries", "POST", []string{"multipart/form-data; boundary=A; xboundary=B"}, 0, "", true},
		{"a boundary named first in another", "POST", []string{"multipart/form-data; xboundary=B; boundary=A"}, 0, "", true},
		{"Chromium's and Safari's boundary", "POST", []string{"multipart/form-data; boundary=----WebKitFormBoundaryx7Gq2LZp0aWc9eYd"},
			multipartForm, "----WebKitFormBoundaryx7Gq2LZp0aWc9eYd", false},
		{"Firefox's boundary", "POST", []string{"multipart/form-data; boundary=----geckoformboundary3f1c0e5b2a"},
			multipartForm, "----geckoformboundary3f1c0e5b2a", false},
		{"the word in the value, then '='", "POST", []string{"multipart/form-data; Boundary=aboundaryx; charset=utf-8"}, 0, "", true},
		{"the word before the boundary", "POST", []string{"multipart/form-data; charset=boundary; boundary=A"}, 0, "", true},
		{"json", "POST", []string{"application/vnd.api+json"}, jsonForm, "", false},
		{"json anywhere (Laravel)", "POST", []string{"text/plain; a=/json"}, jsonForm, "", false},
		{"form and json", "POST", []string{"application/x-www-form-urlencoded; a=/json"}, urlencodedForm | jsonForm, "", false},
		{"no type on a POST", "POST", nil, urlencodedForm, "", false},
		{"no type on a PUT (CGI.pm)", "PUT", nil, urlencodedForm, "", false},
		{"no type on a PATCH (CGI.pm)", "PATCH", nil, urlencodedForm, "", false},
		{"no type on a DELETE", "DELETE", nil, 0, "", false},
		{"two types", "POST", []string{"text/plain", "application/x-www-form-urlencoded"}, 0, "", true},
		{"other", "POST", []string{"application/octet-stream"}, 0, "", false},
		{"boundary with a blank", "POST", []string{"multipart/form-data; boundary= B"}, 0, "", true},
		{"boundary with an escape", "POST", []string{`multipart/form-data; boundary="a\\b"`}, 0, "", true},
		{"boundary in RFC 2231 form", "POST", []string{"multipart/form-data; boundary*=utf-8''B"}, 0, "", true},
		{"RFC 2047 boundary", "POST", []string{"multipart/form-data; boundary==?UTF-8?B?Qg==?="}, 0, "", true},
		{"UTF-16 form", "POST", []string{"application/x-www-form-urlencoded; charset=UTF-16LE"}, 0, "", true},
		{"EBCDIC form", "POST", []string{"multipart/form-data; boundary=b; charset=cp037"}, 0, "", true},
		{"Latin-1 form", "POST", []string{"application/x-www-form-urlencoded; charset=ISO-8859-1"}, urlencodedForm, "", false},
		{"Shift_JIS form", "POST", []string{"application/x-www-form-urlencoded; charset=Shift_JIS"}, urlencodedForm, "", false},
		{"GB18030 multipart", "POST", []string{"multipart/form-data; boundary=b; charset=GB18030"}, multipartForm, "b", false},
		{"ISO-2022-JP form", "POST", []string{"application/x-www-form-urlencoded; charset=ISO-2022-JP"}, 0, "", true},
		{"UTF-7 form", "POST", []string{"application/x-www-form-urlencoded; charset=UTF-7"}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", strings.NewReader("x"))
			r.Header["Content-Type"] = tt.cts
			kind, boundary, err := formOf(r)
			if kind != tt.want || boundary != tt.boundary || (err != nil) != tt.bad {
				t.Errorf("formOf = %d, %q, %v; want %d, %q, refused %v", kind, boundary, err, tt.want, tt.boundary, tt.bad)
			}
		})
	}
	if kind, _, err := formOf(httptest.NewRequest("POST", "/", nil)); kind != 0 || err != nil {
		t.Errorf("a bodyless POST: %d, %v", kind, err)
	}
}

// overrideRoutes tell methods apart: anyone signed in may read and post
// items, only admins delete them; /other's PUT goes to another upstream.
var overrideRoutes = []policy.RouteConfig{
	{Path: "/items/**", Methods: []string{"GET", "POST"}, Name: "items-write", Upstream: "app"},
	{Path: "/items/**", Methods: []string{"DELETE"}, AllowGroups: []string{"admins"}, Name: "items-delete", Upstream: "app"},
	{Path: "/public/**", Public: true, Upstream: "app"},
	{Path: "/uploads/**", AllowGroups: []string{"staff"}, Upstream: "app"},
	{Path: "/mixed/**", Methods: []string{"POST"}, Public: true, Upstream: "app"},
	{Path: "/mixed/**", Methods: []string{"DELETE"}, Upstream: "app"},
	{Path: "/other/**", Methods: []string{"POST"}, Upstream: "app"},
	{Path: "/other/**", Methods: []string{"PUT"}, Upstream: "second"},
}

func overrideFixture(t *testing.T) *fixture {
	t.Helper()
	table, err := policy.Compile(overrideRoutes)
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, func(c *Config) {
		c.Routes = table
		second := *c.Upstreams[0].URL
		c.Upstreams = append(c.Upstreams, Upstream{Name: "second", URL: &second})
	})
}

// TestMethodOverrideDecidedAsBoth: a POST whose _method names another
// method (Rails, Laravel, Symfony, Spring) is forwarded only when the
// route table allows both methods, and reaches the application unchanged.
func TestMethodOverrideDecidedAsBoth(t *testing.T) {
	f := overrideFixture(t)
	alice := f.cookies(t, f.session())
	bobSession := f.session()
	bobSession.Identity.Subject, bobSession.Identity.Groups = "bob", []string{"staff"}
	bob := f.cookies(t, bobSession)
	form := withHeader("Content-Type", "application/x-www-form-urlencoded")
	mp, boundary := multipartBody(t, "delete", strings.Repeat("x", 100<<10)) // past the pre-read limit
	multi := withHeader("Content-Type", "multipart/form-data; boundary="+boundary)
	upload, uploadBoundary := multipartBody(t, "", strings.Repeat("x", 100<<10))
	uploadType := withHeader("Content-Type", "multipart/form-data; boundary="+uploadBoundary)
	padded := "a=" + strings.Repeat("x", 64<<10) + "&_method=delete"
	tests := []struct {
		name, target, body string
		opts               []reqOption
		want               int
	}{
		{"plain post", "/items/1", "title=x", []reqOption{withCookies(bob), form}, 200},
		{"query override denied", "/items/1?_method=DELETE", "", []reqOption{withCookies(bob)}, 403},
		{"encoded query override denied", "/items/1?%5Fmethod=delete", "", []reqOption{withCookies(bob)}, 403},
		{"form override denied", "/items/1", "title=x&_method=delete", []reqOption{withCookies(bob), form}, 403},
		{"form override allowed", "/items/1", "title=x&_method=delete", []reqOption{withCookies(alice), form}, 200},
		{"long multipart override denied", "/items/1", string(mp), []reqOption{withCookies(bob), multi}, 403},
		{"long form with a _method past what is read", "/items/1", padded, []reqOption{withCookies(bob), form}, 413},
		{"long upload where routes tell methods apart", "/items/1", string(upload), []reqOption{withCookies(alice), uploadType}, 413},
		{"long upload where every method is allowed", "/uploads/1", string(upload), []reqOption{withCookies(bob), uploadType}, 200},
		{"long form without identity", "/items/1", padded, []reqOption{form}, 401},
		{"token in the form without identity", "/items/1", "a=1&access_token=x", []reqOption{form}, 400},
		{"token in the form with identity", "/items/1", "a=1&access_token=x", []reqOption{withCookies(bob), form}, 400},
		{"token in a public form", "/public/x", "a=1&access_token=x", []reqOption{form}, 200},
		{"compressed form where routes tell methods apart", "/items/1", "x", []reqOption{withCookies(alice), form, withHeader("Content-Encoding", "gzip")}, 415},
		{"compressed form where every method is allowed", "/uploads/1", "x", []reqOption{withCookies(bob), form, withHeader("Content-Encoding", "gzip")}, 200},
		{"compressed form after a Content-Encoding: identity line", "/items/1", "x",
			[]reqOption{withCookies(alice), form, withHeader("Content-Encoding", "identity"), withHeader("Content-Encoding", "gzip")}, 415},
		{"token in a public form turned into a DELETE that needs an identity", "/mixed/x", "_method=delete&access_token=x",
			[]reqOption{withCookies(alice), form}, 400},
		{"public form turned into a DELETE that needs an identity", "/mixed/x", "_method=delete", []reqOption{withCookies(alice), form}, 200},
		{"json post", "/items/1", `{"title":"x"}`, []reqOption{withCookies(bob), withHeader("Content-Type", "application/json")}, 200},
		{"json override denied", "/items/1", `{"_method":"DELETE"}`, []reqOption{withCookies(bob), withHeader("Content-Type", "application/json")}, 403},
		{"untyped override denied", "/items/1", "_method=delete", []reqOption{withCookies(bob)}, 403},
		{"override to an unrouted method", "/items/1?_method=PATCH", "", []reqOption{withCookies(alice)}, 404},
		{"override without identity", "/items/1?_method=DELETE", "", nil, 401},
		{"public both ways", "/public/x?_method=DELETE", "", nil, 200},
		{"trace", "/public/x?_method=TRACE", "", nil, 405},
		{"conflicting", "/items/1?_method=DELETE", "_method=put", []reqOption{withCookies(alice), form}, 400},
		{"another upstream", "/other/x?_method=PUT", "", []reqOption{withCookies(alice)}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.up.count()
			resp := f.do(t, "POST", tt.target, strings.NewReader(tt.body), tt.opts...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want != 200 {
				if f.up.count() != before {
					t.Fatal("a refused request reached the upstream")
				}
				return
			}
			got := f.up.last(t)
			if got.Method != "POST" || got.Body != tt.body {
				t.Errorf("upstream got %s with a body of %d bytes, want POST with the %d bytes sent", got.Method, len(got.Body), len(tt.body))
			}
		})
	}
}

// TestMethodOverrideOnlyForPost: frameworks honour _method on POST only; on
// a GET it is an ordinary parameter, and a PUT's body is not parsed for it.
func TestMethodOverrideOnlyForPost(t *testing.T) {
	f := overrideFixture(t)
	s := f.session()
	s.Identity.Groups = []string{"staff"}
	cookies := withCookies(f.cookies(t, s))
	resp := f.do(t, "GET", "/items/1?_method=DELETE", nil, cookies)
	if resp.StatusCode != 200 {
		t.Fatalf("GET with _method: status %d, want 200", resp.StatusCode)
	}
	// Other methods' bodies are not read for _method: what POST refuses
	// as ambiguous passes on a PUT to /uploads, as it did before.
	for _, cts := range [][]string{{"text/plain", "application/json"}, {"multipart/form-data"}} {
		opts := []reqOption{cookies}
		for _, ct := range cts {
			opts = append(opts, withHeader("Content-Type", ct))
		}
		if resp := f.do(t, "PUT", "/uploads/1", strings.NewReader(`{"_method":"DELETE"}`), opts...); resp.StatusCode != 200 {
			t.Errorf("PUT with Content-Type %q: status %d, want 200", cts, resp.StatusCode)
		}
	}
}

// TestForwardAuthMethodOverride: forward-auth sees the original query's
// _method and decides the POST as both methods.
func TestForwardAuthMethodOverride(t *testing.T) {
	f := overrideFixture(t)
	s := f.session()
	s.Identity.Groups = []string{"staff"}
	bob := f.cookies(t, s)
	for _, tt := range []struct {
		uri  string
		want int
	}{
		{"/items/1", 200},
		{"/items/1?_method=DELETE", 403},
		{"/items/1?_method=" + url.QueryEscape("DE LETE"), 400},
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withCookies(bob),
			withHeader("X-Forwarded-Method", "POST"), withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", tt.uri))
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.uri, resp.StatusCode, tt.want)
		}
	}
}

// multipartBody is a Rails-like form: the _method field first (unless
// method is ""), then a file of the given content.
func multipartBody(t *testing.T, method, file string) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if method != "" {
		_ = w.WriteField("_method", method)
	}
	fw, err := w.CreateFormFile("upload", "a.txt")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write([]byte(file))
	_ = w.Close()
	return b.Bytes(), w.Boundary()
}

// TestStalledFormTimesOut: a form is read, before it is forwarded, within
// the pre-read time; a client that stalls it gets 408 (not an unbounded
// wait), and nothing reaches the upstream.
func TestStalledFormTimesOut(t *testing.T) {
	srv, up, f := bodyGatewayFixture(t)
	f.h.bodies.timeout = 300 * time.Millisecond
	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=b"} {
		start := time.Now()
		resp := rawRequest(t, srv, "POST /public/form HTTP/1.1\r\nHost: gw.test\r\nContent-Type: "+ct+
			"\r\nContent-Length: 100000\r\n\r\n_method=delete&a=", false)
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("%s: status = %d, want 408", ct, resp.StatusCode)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: answered after %v", ct, d)
		}
	}
	if n := up.bytesIn.Load(); n != 0 {
		t.Errorf("the upstream received %d bytes", n)
	}
}

// FuzzIndexFold: the search finds the word exactly where the plain
// case-insensitive search does.
func FuzzIndexFold(f *testing.F) {
	for _, s := range []string{"", "m", "method", "a=1&_METHOD=x", "mmethod", "metho", "x_meth_Method"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := indexFold(s, "method") >= 0, containsFold(s, "method"); got != want {
			t.Fatalf("indexFold(%q) found %v, containsFold %v", s, got, want)
		}
	})
}

// FuzzMethodOverride: hostile queries and bodies of every kind never crash
// the parsers, an override found is a valid method other than POST, and a
// JSON body's top-level _method string, as encoding/json reads the whole
// object (and Laravel its JSON input), is the method decided, unless the
// request is refused: an application must never act on a method the
// gateway did not see.
func FuzzMethodOverride(f *testing.F) {
	f.Add("_method=delete", uint8(urlencodedForm), "b", "_method=put", false)
	f.Add("", uint8(multipartForm), "b", "--b\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\ndelete\r\n--b--\r\n", false)
	f.Add("", uint8(jsonForm), "", `{"_method":"patch"}`, true)
	f.Add("", uint8(jsonForm), "", `{"a":{"_method":"get"},"\u005fmethod":" put"}`, false)
	f.Add("", uint8(multipartForm), "b", "--b\r\nContent-Disposition: x; name='_method'; name=\"\\\"\r\nContent-ID: <_method>\r\n\r\n", true)
	f.Fuzz(func(t *testing.T, query string, kind uint8, boundary, body string, cut bool) {
		if boundary == "" {
			boundary = "b"
		}
		m, err := methodOverride(query, formKind(kind)&(urlencodedForm|multipartForm|jsonForm), boundary, []byte(body), cut)
		if err == nil && m != "" && (!policy.ValidMethod(m) || m == http.MethodPost) {
			t.Fatalf("override %q", m)
		}
		if err != nil || formKind(kind)&jsonForm == 0 {
			return
		}
		if v, ok := jsonOverride(body); ok && overrideAsDecided(v) != m {
			t.Fatalf("JSON body %q: encoding/json reads _method %q, the gateway decided as %q", body, v, m)
		}
	})
}

// jsonOverride is the top-level "_method" string of a JSON object body as
// encoding/json reads the whole document, ok false when there is none.
func jsonOverride(body string) (string, bool) {
	var obj map[string]any
	if json.Unmarshal([]byte(body), &obj) != nil {
		return "", false
	}
	v, ok := obj[overrideParam].(string)
	return v, ok
}

// overrideAsDecided is the method methodOverride decides a _method value
// v as: its upper-cased, trimmed name, with POST no override.
func overrideAsDecided(v string) string {
	if m := strings.ToUpper(strings.TrimSpace(v)); m != http.MethodPost {
		return m
	}
	return ""
}

// TestUnreadOverrideNeverChangesUpstream: a POST whose body cannot be read
// whole (too long, or compressed) is decided as every method, since a
// _method in it could name any. That decision must not send it to another
// upstream than its own route's: with a public POST route to "hooks" and
// a signed-in route for every other method to "app", a signed-in user's
// oversized POST to /hooks/x was decided by the "app" route (an allow is
// more severe than public) and forwarded there, with the user's identity:
// a request no route sends to "app". A _method the gateway can read that
// names a method routed elsewhere is a 400; one it cannot read is refused
// as when the methods are not all allowed.
func TestUnreadOverrideNeverChangesUpstream(t *testing.T) {
	hooks := newStubUpstream(t, nil)
	table, err := policy.Compile([]policy.RouteConfig{
		{Path: "/hooks/**", Methods: []string{"POST"}, Public: true, Upstream: "hooks"},
		{Path: "/**", Upstream: "app"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) {
		c.Routes = table
		c.Upstreams = append(c.Upstreams, Upstream{Name: "hooks", URL: mustURL(t, hooks.URL)})
	})
	alice := withCookies(f.cookies(t, f.session()))
	form := withHeader("Content-Type", "application/x-www-form-urlencoded")
	padded := "a=" + strings.Repeat("x", 64<<10) + "&_method=get"
	tests := []struct {
		name, body string
		opts       []reqOption
		want       int
	}{
		{"long form, signed in", padded, []reqOption{alice, form}, 413},
		{"compressed form, signed in", "x", []reqOption{alice, form, withHeader("Content-Encoding", "gzip")}, 415},
		{"long form, anonymous", padded, []reqOption{form}, 413},
		{"readable _method routed elsewhere", "_method=get", []reqOption{alice, form}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, hook := f.up.count(), hooks.count()
			resp := f.do(t, "POST", "/hooks/x", strings.NewReader(tt.body), tt.opts...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if f.up.count() != app {
				t.Errorf("the POST to /hooks/x reached the app upstream, as %s", f.up.last(t).Header.Get("X-Forwarded-User"))
			}
			if hooks.count() != hook {
				t.Error("a refused POST reached the hooks upstream")
			}
		})
	}
	// A plain POST still goes to its route's upstream.
	if resp := f.do(t, "POST", "/hooks/x", strings.NewReader("a=1"), alice, form); resp.StatusCode != 200 || hooks.count() == 0 {
		t.Errorf("plain POST: status %d, hooks upstream got %d requests", resp.StatusCode, hooks.count())
	}
}
