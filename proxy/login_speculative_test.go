package proxy

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// speculativeHeaders are the ways browsers mark a prefetch, prerender or
// preview that no click asked for.
var speculativeHeaders = [][2]string{
	{"Sec-Purpose", "prefetch"},
	{"Sec-Purpose", "prefetch;prerender"},
	{"Purpose", "prefetch"},
	{"X-Purpose", "preview"},
	{"X-Moz", "prefetch"},
}

// TestStartIsNotPrefetched: a prefetch of a sign-in link (a page's
// Speculation Rules, a site that prefetches links on hover) ended the
// session, as start does for a sign-in from the same site, and added a
// login state that pruned the user's real one. It is refused and sets no
// cookie at all.
func TestStartIsNotPrefetched(t *testing.T) {
	f := newFixture(t)
	old := f.cookies(t, f.session())
	for _, h := range speculativeHeaders {
		resp := f.do(t, "GET", "/oauth2/start?rd=%2Fx", nil, withCookies(old), browser(),
			withHeader("Sec-Fetch-Site", "same-origin"), withHeader(h[0], h[1]))
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %s: start = %d setting %d cookies, want 403 setting none", h[0], h[1], resp.StatusCode, len(resp.Cookies()))
		}
	}
	if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusOK {
		t.Errorf("the session after prefetched starts: %d, want 200", r.StatusCode)
	}
}

// TestProtectedPagePrefetchStartsNoLogin: a prefetch or prerender of a
// protected page without a session was a 302 to the provider with a new
// login-state cookie; five of them (a page of links) pruned the state of
// the sign-in the user had under way in another tab, and its callback
// failed. They are refused and leave that sign-in to complete.
func TestProtectedPagePrefetchStartsNoLogin(t *testing.T) {
	f := newFixture(t)
	state, cookies := startLogin(t, f, "/app/real")
	for _, h := range speculativeHeaders {
		resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies), browser(), withHeader(h[0], h[1]))
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %s: protected page = %d setting %d cookies, want 403 setting none", h[0], h[1], resp.StatusCode, len(resp.Cookies()))
		}
	}
	resp := f.do(t, "GET", "/oauth2/callback?code=good&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/real" {
		t.Errorf("the real sign-in after the prefetches: %d to %q, want 302 to /app/real", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestCallbackIsNotUsedUpByAPrefetch: a prefetch of the callback (with the
// browser's cookies) redeemed the code and took the single-use state
// before the browser's own visit. It is refused before both, and the
// browser's visit completes the sign-in.
func TestCallbackIsNotUsedUpByAPrefetch(t *testing.T) {
	f := newFixture(t)
	state, cookies := startLogin(t, f, "/app/real")
	target := "/oauth2/callback?code=good&state=" + url.QueryEscape(state)
	for _, h := range speculativeHeaders {
		resp := f.do(t, "GET", target, nil, withCookies(cookies), browser(), withHeader(h[0], h[1]))
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %s: callback = %d setting %d cookies, want 403 setting none", h[0], h[1], resp.StatusCode, len(resp.Cookies()))
		}
	}
	if n := f.prov.exchanges.Load(); n != 0 {
		t.Errorf("prefetched callbacks redeemed the code %d times", n)
	}
	resp := f.do(t, "GET", target, nil, withCookies(cookies), browser())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/real" {
		t.Errorf("the browser's callback after the prefetches: %d to %q, want 302 to /app/real", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestCallbackPreviewWithoutCookiesLeavesTheLogin: a chat app that unfurls
// a callback URL fetches it without the browser's login-state cookie. It
// is refused before the state is taken or the code redeemed, signs nobody
// in, and the browser's own visit completes the sign-in.
func TestCallbackPreviewWithoutCookiesLeavesTheLogin(t *testing.T) {
	f := newFixture(t)
	state, cookies := startLogin(t, f, "/app/real")
	target := "/oauth2/callback?code=good&state=" + url.QueryEscape(state)
	preview := f.do(t, "GET", target, nil, browser())
	if preview.StatusCode != http.StatusBadRequest || len(liveCookies(preview)) != 0 || f.prov.exchanges.Load() != 0 {
		t.Fatalf("cookieless preview = %d, %d live cookies, %d exchanges; want 400, none, none",
			preview.StatusCode, len(liveCookies(preview)), f.prov.exchanges.Load())
	}
	resp := f.do(t, "GET", target, nil, withCookies(cookies), browser())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/real" {
		t.Errorf("the browser's callback after a preview: %d to %q, want 302 to /app/real", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestStepUpIsNotUsedUpByAPrefetch: a step-up is tried once per route in
// a window, and a prefetch of the route recorded that try: the user's own
// click then got the 403 page instead of the provider. The prefetch is
// refused before anything is recorded.
func TestStepUpIsNotUsedUpByAPrefetch(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	pre := f.do(t, "GET", "/api/x", nil, browser(), withCookies(cookies), withHeader("Sec-Purpose", "prefetch"))
	if pre.StatusCode != http.StatusForbidden || len(pre.Cookies()) != 0 {
		t.Errorf("prefetched step-up = %d setting %d cookies, want 403 setting none", pre.StatusCode, len(pre.Cookies()))
	}
	jar := map[string]*http.Cookie{}
	for _, c := range append(cookies, liveCookies(pre)...) {
		jar[c.Name] = c
	}
	var after []*http.Cookie
	for _, c := range jar {
		after = append(after, c)
	}
	if resp := f.do(t, "GET", "/api/x", nil, browser(), withCookies(after)); resp.StatusCode != http.StatusFound {
		t.Errorf("the click after a prefetch = %d, want 302 to the provider", resp.StatusCode)
	}
}

// TestStartIsNoPageRequest: a page's own request to start (Sec-Fetch-Mode
// cors, no-cors or same-origin), such as a fetch that a front proxy
// redirected there (ingress-nginx's auth-signin redirects every 401), was
// sent on to the provider, cross-origin: the page got a CORS failure with
// no status, each fetch made a login-state cookie, and a same-site one
// ended the session first. It is a 401 that sets no cookie; a navigation
// still starts the login.
func TestStartIsNoPageRequest(t *testing.T) {
	f := newFixture(t)
	old := f.cookies(t, f.session())
	for _, mode := range []string{"cors", "no-cors", "same-origin"} {
		resp := f.do(t, "GET", "/oauth2/start?rd=%2Fx", nil, withCookies(old), browser(),
			withHeader("Sec-Fetch-Site", "same-origin"), withHeader("Sec-Fetch-Mode", mode))
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" || len(resp.Cookies()) != 0 {
			t.Errorf("Sec-Fetch-Mode %s: start = %d to %q setting %d cookies, want 401 setting none",
				mode, resp.StatusCode, resp.Header.Get("Location"), len(resp.Cookies()))
		}
	}
	if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusOK {
		t.Errorf("the session after a page's requests to start: %d, want 200", r.StatusCode)
	}
	resp := f.do(t, "GET", "/oauth2/start?rd=%2Fx", nil, browser(), withHeader("Sec-Fetch-Mode", "navigate"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "https://idp.test/") {
		t.Errorf("a navigation to start: %d to %q, want 302 to the provider", resp.StatusCode, resp.Header.Get("Location"))
	}
}
