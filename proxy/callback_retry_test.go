package proxy

import (
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/idp"
)

// TestFailedCallbackLinksBack: a sign-in the provider refused (the user
// denied consent) or whose code exchange failed ends on a page whose link
// starts a sign-in that returns to the page asked for, not to "/".
func TestFailedCallbackLinksBack(t *testing.T) {
	f := newFixture(t)
	for _, q := range []string{"error=access_denied", "code=c0de"} {
		f.prov.exchangeErr = idp.ErrInvalidToken
		state, cookies := startLogin(t, f, "/app/reports")
		resp := f.do(t, "GET", "/oauth2/callback?"+q+"&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
		if body := readBody(t, resp); !strings.Contains(body, `href="/oauth2/start?rd=/app/reports"`) {
			t.Errorf("%s: %d\n%s\nwant a link back to /app/reports", q, resp.StatusCode, body)
		}
	}
}
