package e2e

import (
	"net/http"
	"testing"
)

// unicodeEscapedTokens are query strings whose parameter name is
// access_token to a parser that decodes "%uXXXX" escapes (classic ASP.NET's
// HttpUtility.UrlDecode and Request.QueryString, Perl's CGI.pm), and
// "access%u005Ftoken" to PHP, Rack and Go, which do not.
var unicodeEscapedTokens = []string{
	"access%u005Ftoken=secret-value",
	"a=1&%u0061ccess%u005ftoken=secret-value",
	"a=1;access%u005Ftoken%u005B%u005D=secret-value",
}

// TestUnicodeEscapedTokenRefused: an access_token in the query string is a
// 400 on every route however its name is escaped, "%u005F" for "_"
// included. Since the query reaches the application as sent, such a name
// is no longer dropped by Go's ReverseProxy (url.ParseQuery refused the
// escape), and the gateway read it as "access%u005Ftoken": a public route
// and a signed-in user's request forwarded another user's token to an
// application that takes access_token from the query.
func TestUnicodeEscapedTokenRefused(t *testing.T) {
	t.Parallel()
	gw, up, ck := aliceOnPublicAndSignedIn(t)
	for _, q := range unicodeEscapedTokens {
		for _, base := range []string{"/public/x", "/app/x"} {
			u := gw.URL + base + "?" + q
			before := up.count()
			status, body, _ := withCookie(t, "GET", u, ck, false)
			if status != http.StatusBadRequest || up.count() != before {
				t.Errorf("GET %s: %d, forwarded %v; want 400 and nothing forwarded\n%s",
					u, status, up.count() != before, body)
			}
		}
	}
}
