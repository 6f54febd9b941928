package e2e

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// tabsRun is a gateway (cookie store) in front of an application page that
// shows its path and the user the gateway names, with a provider that holds
// each sign-in on its consent page, and a Chromium with no tab open yet.
func tabsRun(t *testing.T, o oidctest.Options) (*gateway, *oidctest.Provider, context.Context) {
	t.Helper()
	o.Consent = true
	p := oidctest.New(t, o)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><p id="page">` + html.EscapeString(r.URL.Path) +
			`</p><p id="user">` + html.EscapeString(r.Header.Get("X-Forwarded-User")) + `</p>`))
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", "[[routes]]\npath = \"/**\"\n"))
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	t.Cleanup(cancel)
	// The browser starts with its first tab, which later tabs join.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	return gw, p, ctx
}

// newTab opens another tab of the browser of ctx (the first call opens the
// browser's first tab).
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	return tab
}

// shown is what a tab shows once its page has loaded: its URL, the HTTP
// status of the document and its text.
type shown struct {
	URL    string
	Status int
	Text   string
}

// view waits for the tab's document and reports what it shows.
func view(t *testing.T, tab context.Context) shown {
	t.Helper()
	const js = `document.readyState === "complete" && document.body ? JSON.stringify([location.href,
		String(performance.getEntriesByType("navigation")[0]?.responseStatus ?? 0), document.body.innerText]) : ""`
	for {
		var out []string
		got, err := chromedp.Run(tab, chromedp.Evaluate[string](js))
		if err == nil && got != "" && json.Unmarshal([]byte(got), &out) == nil && len(out) == 3 {
			n, _ := strconv.Atoi(out[1])
			return shown{URL: out[0], Status: n, Text: out[2]}
		}
		if tab.Err() != nil {
			t.Fatalf("no page in the tab: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open navigates tab to u and reports what it shows.
func open(t *testing.T, tab context.Context, u string) shown {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigate %s: %v", u, err)
	}
	return view(t, tab)
}

// click clicks sel on the tab's page and reports the page it leads to.
func click(t *testing.T, tab context.Context, sel string) shown {
	t.Helper()
	js := `window.left = true; document.querySelector(` + jsString(sel) + `).click(); true`
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](js)); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	for {
		left, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.left === true`))
		if err == nil && !left {
			return view(t, tab)
		}
		if tab.Err() != nil {
			t.Fatalf("click %s: no new page: %v", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// atConsent reports whether s is the provider's consent page.
func atConsent(s shown) bool { return strings.Contains(s.Text, "Allow the application") }

// signedInOn reports whether s is the application's page path for alice.
func signedInOn(s shown, path string) bool {
	return s.Status == http.StatusOK && strings.HasPrefix(s.Text, path+"\n") && strings.HasSuffix(strings.TrimSpace(s.Text), "alice")
}

// signedInTab opens a new tab on gw's path and signs in there: the tab,
// showing that page.
func signedInTab(t *testing.T, ctx context.Context, gw *gateway, path string) context.Context {
	t.Helper()
	tab := newTab(t, ctx)
	open(t, tab, gw.URL+path)
	if s := click(t, tab, "#allow"); !signedInOn(s, path) {
		t.Fatalf("the sign-in at %s: %+v", path, s)
	}
	return tab
}

// signsInAgainByLink follows the link to sign in again on the tab's page
// (what names that page) and allows the consent: the sign-in must end on
// path, the page first asked for.
func signsInAgainByLink(t *testing.T, tab context.Context, what, path string) {
	t.Helper()
	if s := click(t, tab, `a[href*="/oauth2/start"]`); !atConsent(s) {
		t.Fatalf("%s's link: %+v, want a new sign-in", what, s)
	}
	if s := click(t, tab, "#allow"); !signedInOn(s, path) {
		t.Errorf("the sign-in from %s's link ended at %+v, want the page asked for", what, s)
	}
}

// TestTwoTabsKeepSignedInInChromium: two tabs open two protected pages while
// signed out and both wait on the provider's consent page; the user allows
// in tab 2, then in tab 1. Each tab ends on its own page, signed in, and
// tab 2 (whose session tab 1's sign-in replaced) still works.
func TestTwoTabsKeepSignedInInChromium(t *testing.T) {
	t.Parallel()
	gw, _, ctx := tabsRun(t, oidctest.Options{})
	one, two := newTab(t, ctx), newTab(t, ctx)
	if s := open(t, one, gw.URL+"/one"); !atConsent(s) {
		t.Fatalf("tab 1 at %+v, want the consent page", s)
	}
	if s := open(t, two, gw.URL+"/two"); !atConsent(s) {
		t.Fatalf("tab 2 at %+v, want the consent page", s)
	}
	if s := click(t, two, "#allow"); !signedInOn(s, "/two") {
		t.Fatalf("tab 2 after its sign-in: %+v\n%s", s, gw.Proc.Output())
	}
	if s := click(t, one, "#allow"); !signedInOn(s, "/one") {
		t.Fatalf("tab 1 after its sign-in: %+v\n%s", s, gw.Proc.Output())
	}
	if s := open(t, two, gw.URL+"/two"); !signedInOn(s, "/two") {
		t.Errorf("tab 2 after tab 1 signed in: %+v", s)
	}
}

// TestParallelSignInsBoundInChromium: six tabs start a sign-in each. Five
// login states are kept; the oldest is pruned, and its tab ends on the
// gateway's page of a failed sign-in (400, with a link to start again),
// while the other five each end on their own page.
func TestParallelSignInsBoundInChromium(t *testing.T) {
	t.Parallel()
	gw, _, ctx := tabsRun(t, oidctest.Options{})
	var tabs []context.Context
	for i := range 6 {
		tab := newTab(t, ctx)
		if s := open(t, tab, gw.URL+"/p"+strconv.Itoa(i)); !atConsent(s) {
			t.Fatalf("tab %d at %+v, want the consent page", i, s)
		}
		tabs = append(tabs, tab)
	}
	s := click(t, tabs[0], "#allow")
	if s.Status != http.StatusBadRequest || !strings.Contains(s.Text, "Sign-in failed") || !strings.Contains(s.Text, "expired") {
		t.Errorf("the oldest of six sign-ins: %+v, want the 400 page of an expired sign-in", s)
	}
	if n, _ := chromedp.Run(tabs[0], chromedp.Evaluate[int](`document.querySelectorAll('a[href*="/oauth2/start"]').length`)); n == 0 {
		t.Errorf("the page of the pruned sign-in has no link to start again: %q", s.Text)
	}
	for i, tab := range tabs[1:] {
		if s := click(t, tab, "#allow"); !signedInOn(s, "/p"+strconv.Itoa(i+1)) {
			t.Errorf("tab %d: %+v", i+1, s)
		}
	}
}

// TestSignInAgainWhileSignedInInChromium: tab 2 is signed in when the user
// signs in again in tab 1 (the sign-in link, from the address bar). The
// fresh session replaces the old one, and tab 2's next navigation and its
// page's next fetch work with it, without a new sign-in.
func TestSignInAgainWhileSignedInInChromium(t *testing.T) {
	t.Parallel()
	gw, p, ctx := tabsRun(t, oidctest.Options{})
	one, two := newTab(t, ctx), signedInTab(t, ctx, gw, "/two")
	if s := open(t, one, gw.URL+"/oauth2/start?rd=/one"); !atConsent(s) {
		t.Fatalf("tab 1's sign-in: %+v, want the consent page", s)
	}
	if s := click(t, one, "#allow"); !signedInOn(s, "/one") {
		t.Fatalf("tab 1 after its sign-in: %+v", s)
	}
	authorizations := p.Requests("/authorize")
	got, err := chromedp.Run(two, chromedp.Evaluate[string](`fetch("/two/data").then(r => String(r.status), e => "failed: " + e.message)`, chromedp.EvalAwaitPromise))
	if err != nil || got != "200" {
		t.Errorf("tab 2's fetch after tab 1 signed in again: %s %v, want 200", got, err)
	}
	if s := open(t, two, gw.URL+"/two"); !signedInOn(s, "/two") {
		t.Errorf("tab 2's navigation after tab 1 signed in again: %+v", s)
	}
	if n := p.Requests("/authorize"); n != authorizations {
		t.Errorf("tab 2 went to the provider %d times, want none", n-authorizations)
	}
}

// TestSignOutInOtherTabInChromium: the user signs out in tab 1 while tab 2
// shows a page. Tab 2's page's fetch gets a 401 it can read (never a
// redirect to the provider, which it could not follow), and starts no
// login; its next navigation goes to sign in.
func TestSignOutInOtherTabInChromium(t *testing.T) {
	t.Parallel()
	gw, _, ctx := tabsRun(t, oidctest.Options{})
	one, two := newTab(t, ctx), signedInTab(t, ctx, gw, "/two")
	open(t, one, gw.URL+"/oauth2/sign_out")
	started := metricValue(t, gw, startedLogins)
	js := `fetch("/two/data").then(async r => r.status + " " + r.headers.get("WWW-Authenticate"), e => "failed: " + e.message)`
	got, err := chromedp.Run(two, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(got, "401 Bearer") {
		t.Errorf("tab 2's fetch after the sign-out in tab 1: %q %v, want a 401 with WWW-Authenticate: Bearer", got, err)
	}
	if n := metricValue(t, gw, startedLogins); n != started {
		t.Errorf("tab 2's fetch started %v logins, want none", n-started)
	}
	if s := open(t, two, gw.URL+"/two"); !atConsent(s) {
		t.Errorf("tab 2's navigation after the sign-out: %+v, want the provider's consent page", s)
	}
}

// hostileText is provider text that would run or render if a page put it
// in its HTML unescaped.
const hostileText = `<img src=x onerror="window.pwned=1"><b id="injected">bold</b>`

// TestDeniedConsentInChromium: the user denies consent at the provider,
// which says why in hostile HTML. The gateway's page (403) shows the text
// as text, and its link starts a sign-in that returns to the page asked
// for. Reloading that page (the callback a second time) is the 400 of a
// used sign-in, with a link to start again, never a sign-in.
func TestDeniedConsentInChromium(t *testing.T) {
	t.Parallel()
	gw, _, ctx := tabsRun(t, oidctest.Options{DenyDescription: hostileText})
	tab := newTab(t, ctx)
	open(t, tab, gw.URL+"/report?q=1")
	s := click(t, tab, "#deny")
	if s.Status != http.StatusForbidden || !strings.Contains(s.Text, "access_denied") || !strings.Contains(s.Text, hostileText) {
		t.Errorf("the denied sign-in: %+v, want the 403 page with the provider's text as text", s)
	}
	injected, _ := chromedp.Run(tab, chromedp.Evaluate[bool](`window.pwned === 1 || document.querySelector("#injected") !== null`))
	if injected {
		t.Errorf("the provider's text was rendered as HTML on the gateway's page")
	}
	again := open(t, tab, s.URL)
	if again.Status != http.StatusBadRequest || !strings.Contains(again.Text, "already used") {
		t.Errorf("the callback opened again: %+v, want the 400 of a used sign-in", again)
	}
	tab2 := newTab(t, ctx)
	open(t, tab2, gw.URL+"/report?q=1")
	click(t, tab2, "#deny")
	signsInAgainByLink(t, tab2, "the denied page", "/report")
}

// TestProviderErrorPageInChromium: the provider's token endpoint answers
// with an error page of its own. The gateway's page (502) shows none of
// the provider's text and links to a sign-in that returns to the page.
func TestProviderErrorPageInChromium(t *testing.T) {
	t.Parallel()
	gw, p, ctx := tabsRun(t, oidctest.Options{})
	tab := newTab(t, ctx)
	open(t, tab, gw.URL+"/report")
	p.SetFaults(oidctest.FaultServerError)
	s := click(t, tab, "#allow")
	if s.Status != http.StatusBadGateway || strings.Contains(s.Text, "internal error") || !strings.Contains(s.Text, "Sign-in failed") {
		t.Errorf("the failed token request: %+v, want the gateway's 502 page without the provider's text", s)
	}
	p.SetFaults(0)
	signsInAgainByLink(t, tab, "the failure page", "/report")
}

// TestCallbackOpenedTwiceInChromium: after a sign-in the user opens its
// callback URL again (from history, or a reload). The second use signs
// nobody in again: it is the 400 page of a used sign-in with a link to
// start again, and the session the first use made goes on working.
func TestCallbackOpenedTwiceInChromium(t *testing.T) {
	t.Parallel()
	gw, p, ctx := tabsRun(t, oidctest.Options{})
	tab := newTab(t, ctx)
	open(t, tab, gw.URL+"/report")
	allow, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.querySelector("#allow").href`))
	if err != nil {
		t.Fatal(err)
	}
	// The provider's answer to the consent, taken apart: the callback URL
	// the browser then opens, and can open again.
	c := &http.Client{Transport: clientTransport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(allow)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if !strings.HasPrefix(callback, gw.URL+"/oauth2/callback?") {
		t.Fatalf("the provider answered %d to %q, want the callback", resp.StatusCode, callback)
	}
	if s := open(t, tab, callback); !signedInOn(s, "/report") {
		t.Fatalf("the callback: %+v", s)
	}
	again := open(t, tab, callback)
	if again.Status != http.StatusBadRequest || !strings.Contains(again.Text, "already used") || !strings.Contains(again.Text, "Try again") {
		t.Errorf("the callback opened again: %+v, want the 400 page of a used sign-in", again)
	}
	authorizations := p.Requests("/authorize")
	if s := open(t, tab, gw.URL+"/report"); !signedInOn(s, "/report") || p.Requests("/authorize") != authorizations {
		t.Errorf("the page after the callback was opened again: %+v, want alice still signed in", s)
	}
}
