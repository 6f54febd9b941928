package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestTokenInEveryFormBody: an access_token is refused in every body the
// gateway reads for its decision, not only a URL-encoded one. Rack (Rails,
// Sinatra) reads a multipart part into params[:access_token] as it reads a
// URL-encoded one, and Rails reads a JSON body's members into params too;
// Doorkeeper takes the token from there (access_token_methods
// :from_access_token_param). A signed-in user's POST was forwarded with
// another user's token in a multipart or JSON body: the gateway authorized
// the cookie's user, the application acted as the token's.
func TestTokenInEveryFormBody(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	const b = "XyZ"
	part := func(disposition, value string) string {
		return "--" + b + "\r\nContent-Disposition: " + disposition + "\r\n\r\n" + value + "\r\n"
	}
	multipart := "multipart/form-data; boundary=" + b
	tests := []struct {
		name, ct, body string
		want           int
	}{
		{"multipart part", multipart, part(`form-data; name="a"`, "1") + part(`form-data; name="access_token"`, "tok") + "--" + b + "--\r\n", 400},
		{"multipart part unquoted", multipart, part(`form-data; name=access_token`, "tok") + "--" + b + "--\r\n", 400},
		{"multipart part as PHP reads it", multipart, part(`form-data; name="access.token"`, "tok") + "--" + b + "--\r\n", 400},
		{"multipart part as Rack reads it", multipart, part(`form-data; name="access_token[]"`, "tok") + "--" + b + "--\r\n", 400},
		{"multipart part RFC 2231", multipart, part(`form-data; name*=utf-8''access_token`, "tok") + "--" + b + "--\r\n", 400},
		{"multipart part in any case", multipart, part(`form-data; name="Access_Token"`, "tok") + "--" + b + "--\r\n", 400},
		{"multipart name on a folded line", multipart, part("form-data;\r\n name=\"access_token\"", "tok") + "--" + b + "--\r\n", 400},
		{"multipart name folded inside its quotes", multipart, part("form-data; name=\"access\r\n token\"", "tok") + "--" + b + "--\r\n", 400},
		{"multipart RFC 2231 name folded inside its quotes", multipart, part("form-data; name*0=\"access\r\n\ttoken\"", "tok") + "--" + b + "--\r\n", 400},
		{"multipart name after a line without a colon", multipart, part("form-data; x\r\n;name=access_token", "tok") + "--" + b + "--\r\n", 400},
		{"multipart Content-ID", multipart, "--" + b + "\r\nContent-ID: <access_token>\r\n\r\ntok\r\n--" + b + "--\r\n", 400},
		{"multipart Content-Disposition in another header", multipart, "--" + b + "\r\nX-Note: Content-Disposition: form-data; name=access_token\r\n" +
			"Content-Disposition: form-data; name=\"a\"\r\n\r\ntok\r\n--" + b + "--\r\n", 400},
		{"multipart head with too many names", multipart, part("form-data; name=\"a\""+strings.Repeat("; name=x", 20)+"; x=access", "1") + "--" + b + "--\r\n", 400},
		{"multipart file named so", multipart, part(`form-data; name="f"; filename="access_token"`, "x") + "--" + b + "--\r\n", 200},
		{"multipart file whose text mentions Content-Disposition and many filenames", multipart, part(`form-data; name="f"; filename="notes.txt"`,
			"Set Content-Disposition on each part\n"+strings.Repeat("the filename and the username go in the access log\n", 9)) + "--" + b + "--\r\n", 200},
		{"multipart file whose text names access_token after Content-Disposition", multipart, part(`form-data; name="f"; filename="api-notes.txt"`,
			"To send the token in a form, give its part a Content-Disposition\r\nwith name=access_token (RFC 6750 section 2.2)\r\n") + "--" + b + "--\r\n", 200},
		{"multipart head after a boundary inside a file's line", multipart, part(`form-data; name="f"`, "x --"+b+"\r\nContent-Disposition: form-data; name=access_token\r\n\r\ntok") + "--" + b + "--\r\n", 400},
		{"multipart head after a boundary in another case", multipart, part(`form-data; name="f"`, "x\r\n--xyz\r\nContent-Disposition: form-data; name=access_token\r\n\r\ntok") + "--" + b + "--\r\n", 400},
		{"multipart part with a long s, raw", multipart, part("form-data; name=\"acce\u017fs_token\"", "tok") + "--" + b + "--\r\n", 400},
		{"urlencoded name with a Kelvin sign, raw", "application/x-www-form-urlencoded", "a=1&access_to\u212aen=tok", 400},
		{"multipart value only", multipart, part(`form-data; name="note"`, "access_token=x") + "--" + b + "--\r\n", 200},
		{"json member", "application/json", `{"a":1,"access_token":"tok"}`, 400},
		{"json member escaped", "application/json", `{"\u0061ccess_token":"tok"}`, 400},
		{"json member nested", "application/json", `{"user":{"access_token":"tok"}}`, 200},
		{"json value only", "application/json", `{"note":"access_token"}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.up.count()
			resp := f.do(t, "POST", "/app/form", strings.NewReader(tt.body), withCookies(cookies),
				withHeader("Content-Type", tt.ct))
			body := readBody(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if tt.want == http.StatusBadRequest {
				if f.up.count() != before {
					t.Error("the request reached the upstream")
				}
				if !strings.Contains(body, "invalid_request") {
					t.Errorf("body %q does not say invalid_request", body)
				}
				return
			}
			if got := f.up.last(t).Body; got != tt.body {
				t.Errorf("upstream body = %q, want %q", got, tt.body)
			}
		})
	}
}

// TestTokenInAnotherMethodsBody: Rack reads a multipart body into params
// whatever the method, and Rails a JSON body too, so a PUT, PATCH or DELETE
// carries an access_token to Doorkeeper as a POST does; the gateway refused
// it only in a URL-encoded body. Such a body without the name is forwarded
// whole.
func TestTokenInAnotherMethodsBody(t *testing.T) {
	f := newFixture(t)
	cookies := withCookies(f.cookies(t, f.session()))
	const b = "XyZ"
	multipart := "multipart/form-data; boundary=" + b
	part := func(name string) string {
		return "--" + b + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\ntok\r\n--" + b + "--\r\n"
	}
	for _, method := range []string{"PUT", "PATCH", "DELETE"} {
		for _, c := range []struct {
			ct, body string
			want     int
		}{
			{"application/json", `{"a":1,"access_token":"tok"}`, 400},
			{"application/merge-patch+json", `{"access_token":"tok"}`, 400},
			{multipart, part("access_token"), 400},
			{"application/json", `{"a":1,"note":"access_token"}`, 200},
			{multipart, part("a"), 200},
		} {
			before := f.up.count()
			resp := f.do(t, method, "/app/form", strings.NewReader(c.body), cookies, withHeader("Content-Type", c.ct))
			body := readBody(t, resp)
			if resp.StatusCode != c.want {
				t.Errorf("%s %s %q: %d, want %d (%s)", method, c.ct, c.body, resp.StatusCode, c.want, body)
				continue
			}
			if c.want == 400 {
				if f.up.count() != before {
					t.Errorf("%s %s %q reached the upstream", method, c.ct, c.body)
				}
				continue
			}
			if got := f.up.last(t).Body; got != c.body {
				t.Errorf("%s %s: upstream body %q, want %q", method, c.ct, got, c.body)
			}
		}
	}
}
