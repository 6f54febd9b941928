package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// TestFormTypePrefixDecided: classic ASP.NET fills Request.Form, where
// MVC's GetHttpMethodOverride reads X-HTTP-Method-Override, for any
// Content-Type that begins with application/x-www-form-urlencoded (in any
// case), and Perl's CGI.pm parses such a body as a form too. The gateway
// ended the media type at ";", "," or a space and compared it whole, so
// "application/x-www-form-urlencodedx" was no form to it: a user whom the
// routes refuse DELETE had such a POST naming DELETE forwarded, and a
// signed-in body's access_token reached the application.
func TestFormTypePrefixDecided(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	gw, ck := frameworkGateway(t, "items", up.URL, true)
	for _, tc := range []struct {
		ctype, body string
		want        int
	}{
		{"application/x-www-form-urlencodedx", "X-HTTP-Method-Override=DELETE", http.StatusForbidden},
		{"Application/X-WWW-Form-UrlencodedJSON", "x-http-method-override=delete", http.StatusForbidden},
		{"application/x-www-form-urlencoded+json", "_method=DELETE", http.StatusForbidden},
		{"application/x-www-form-urlencoded/x", "a=1&_method=delete", http.StatusForbidden},
		{"application/x-www-form-urlencodedx", "access_token=abc", http.StatusBadRequest},
		{"application/x-www-form-urlencodedx", "a=1&b=2", http.StatusOK}, // a POST alice may make
	} {
		got, forwarded := postItem(t, up, gw.URL+"/items/1", tc.ctype, tc.body, ck)
		if got != tc.want || forwarded != (tc.want == http.StatusOK) {
			t.Errorf("POST /items/1 as %q with %q: %d, forwarded %v; want %d", tc.ctype, tc.body, got, forwarded, tc.want)
		}
	}
}

// postItem POSTs body as ctype with the session cookie ck and returns the
// status and whether the upstream received it.
func postItem(t *testing.T, up *upstream, u, ctype, body string, ck *http.Cookie) (int, bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.AddCookie(ck)
	before := up.count()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, up.count() != before
}
