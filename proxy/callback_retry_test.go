package proxy

import (
	"html"
	"net/url"
	"regexp"
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

// TestFailedCallbackLinkKeepsTheReturnURL: the link back carries the
// return URL, query and all, escaped for the query and then for the page,
// so that following it starts a sign-in for exactly that URL and the
// page's markup holds none of its characters raw.
func TestFailedCallbackLinkKeepsTheReturnURL(t *testing.T) {
	f := newFixture(t)
	const target = `/app/r?a=1&b=%22%3Cx%3E&c='`
	state, cookies := startLogin(t, f, target)
	resp := f.do(t, "GET", "/oauth2/callback?error=access_denied&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	body := readBody(t, resp)
	m := regexp.MustCompile(`<a href="([^"]*)">Try again</a>`).FindStringSubmatch(body)
	if m == nil || strings.ContainsAny(m[1], `<>'`) {
		t.Fatalf("no escaped link back in\n%s", body)
	}
	link, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || link.Path != "/oauth2/start" || link.Query().Get("rd") != target || len(link.Query()) != 1 {
		t.Errorf("link back %q (%v), want /oauth2/start with rd %q", m[1], err, target)
	}
}
