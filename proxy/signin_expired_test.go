package proxy

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// TestSignInTookTooLong: a user leaves the provider's page for longer than
// a login state is valid, then completes the sign-in. The browser dropped
// the login-state cookie with its validity, and the page said "unknown,
// expired or already used" with a link to a sign-in that returned to "/".
// Now the callback finds the state, signs nobody in and says the sign-in
// expired, with a link to start again that returns to the page asked for.
func TestSignInTookTooLong(t *testing.T) {
	f := newFixture(t)
	state, cookies := startLogin(t, f, "/app/reports?tab=2")
	f.clock.Advance(session.LoginStateTTL + 1)
	resp := f.do(t, "GET", "/oauth2/callback?code=c0de&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Sign-in expired") ||
		!strings.Contains(body, `href="/oauth2/start?rd=/app/reports%3Ftab%3D2"`) {
		t.Errorf("callback of a sign-in that took too long = %d\n%s\nwant 400, Sign-in expired and a link back to /app/reports?tab=2", resp.StatusCode, body)
	}
	if f.prov.exchanges.Load() != 0 {
		t.Errorf("the expired state's code was redeemed")
	}
	if c := responseCookies(resp)["portcullis"]; c != nil && c.MaxAge >= 0 {
		t.Errorf("an expired sign-in set a session cookie")
	}
}

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
