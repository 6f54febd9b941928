package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// expiryPage is an application page, public, whose script and form reach
// the signed-in part of the application as a page left open after its
// session ended does.
const expiryPage = `<!doctype html><title>app</title>
<form method="post" action="/app/save"><textarea name="note">my long text</textarea>
<button id="save" type="submit">Save</button></form><p id="ready">ready</p>`

// expiryRun is a gateway (cookie store) in front of an application whose
// /public/** pages are public and whose other paths need a signed-in user,
// and a Chromium on its public page, which no session opened.
func expiryRun(t *testing.T) (*gateway, context.Context) {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/public/") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(expiryPage))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"saved":true}`))
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", `
[[routes]]
path = "/public/**"
public = true

[[routes]]
path = "/**"
`))
	step, cancel := context.WithTimeout(newChromium(t), 30*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/public/page"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("the public page: %v\n%s", err, gw.Proc.Output())
	}
	return gw, step
}

// TestPageFetchWithoutSessionInChromium: a page's fetch that asks for HTML
// (Turbo, htmx, pjax and hand-written partial loads send Accept: text/html)
// once the session has ended was taken for a navigation: a 302 to the
// provider, which the browser follows cross-origin and reports as a CORS
// failure, so the page saw no status at all, and each such fetch made a
// login-state cookie. Now it is a 401 the page can act on.
func TestPageFetchWithoutSessionInChromium(t *testing.T) {
	t.Parallel()
	gw, step := expiryRun(t)
	for _, accept := range []string{"*/*", "text/html, */*", "text/vnd.turbo-stream.html, text/html, application/xhtml+xml"} {
		js := `fetch("/app/data", {headers: {Accept: ` + jsString(accept) + `}}).then(
			r => String(r.status), e => "failed: " + e.message)`
		got, err := chromedp.Run(step, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		if got != "401" {
			t.Errorf("a fetch with Accept %q after the session ended: %s, want a 401 the page can read\n%s", accept, got, gw.Proc.Output())
		}
	}
	if strings.Contains(opsMetrics(t, gw), startedLogins) {
		t.Errorf("the page's fetches started %v logins, want none", metricValue(t, gw, startedLogins))
	}
}

// TestFormPostWithoutSessionInChromium: a form submitted after the session
// ended is not forwarded (the gateway cannot keep the body across a
// sign-in). The 401 page said only "this request needs a signed-in user or
// a bearer token", with no way on: now it says that what was submitted was
// not sent, and offers to sign in, returning to the page of the form.
func TestFormPostWithoutSessionInChromium(t *testing.T) {
	t.Parallel()
	gw, step := expiryRun(t)
	if err := chromedp.Do(step, chromedp.Click("#save")); err != nil {
		t.Fatalf("submitting the form: %v", err)
	}
	body := pageAfter(t, step, "h1")
	if !strings.Contains(body, "401") || !strings.Contains(body, "was not sent") {
		t.Errorf("the page after the form's POST: %q, want a 401 that says the submission was not sent", body)
	}
	href, err := chromedp.Run(step, chromedp.Evaluate[string](`(document.querySelector("a[href*='/oauth2/start']") || {}).href || ""`))
	if err != nil || !strings.HasSuffix(href, "/oauth2/start?rd=/public/page") {
		t.Fatalf("the sign-in link of the 401 page: %q (%v), want start returning to the form's page", href, err)
	}
	// Following it signs in (the test provider asks nothing) and comes
	// back to the form, whose text the user typed again or kept.
	if err := chromedp.Do(step, chromedp.Navigate(href), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("signing in from the 401 page: %v\n%s", err, gw.Proc.Output())
	}
	loc, _ := chromedp.Run(step, chromedp.Location())
	if loc != gw.URL+"/public/page" {
		t.Errorf("the sign-in from the 401 page ended at %s, want the form's page", loc)
	}
}

// pageAfter waits until the page a navigation led to has an element that
// matches sel, and returns its body's text (a wait for the element alone
// could still look at the page the navigation left).
func pageAfter(t *testing.T, step context.Context, sel string) string {
	t.Helper()
	js := `document.querySelector(` + jsString(sel) + `) ? document.body.innerText : ""`
	for {
		body, err := chromedp.Run(step, chromedp.Evaluate[string](js))
		if err == nil && body != "" {
			return body
		}
		if step.Err() != nil {
			t.Fatalf("no %s in the browser's page: %v", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCookiesBlockedInChromium: a browser that blocks the gateway's
// cookies cannot keep the login state, so its callback fails. It must end
// on a page that says why and offers a way on, after one sign-in, never a
// loop between the gateway and the provider.
func TestCookiesBlockedInChromium(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, "http://127.0.0.1:1", "", "[[routes]]\npath = \"/**\"\n"))
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	// 2 = block: the profile's default for every site's cookies.
	prefs := `{"profile":{"default_content_setting_values":{"cookies":2}}}`
	if err := os.WriteFile(filepath.Join(dir, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
		t.Fatal(err)
	}
	step, cancel := context.WithTimeout(newChromiumIn(t, dir), 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/page?x=1")); err != nil {
		t.Fatalf("navigate: %v\n%s", err, gw.Proc.Output())
	}
	body := pageAfter(t, step, "h1")
	if !strings.HasPrefix(body, "Sign-in failed") || !strings.Contains(body, "cookies") {
		t.Errorf("with cookies blocked the sign-in ended on %q, want a sign-in failure that names cookies", body)
	}
	if n := metricValue(t, gw, startedLogins); n != 1 {
		t.Errorf("%v logins started, want 1 (no loop)\n%s", n, gw.Proc.Output())
	}
}

// TestTwoTabsSignInInChromium: two tabs that need a sign-in reach the
// provider's form at the same time; each sign-in, completed in the other
// order, returns its tab to its own page (each has its own login state).
func TestTwoTabsSignInInChromium(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	step, cancel := context.WithTimeout(newChromium(t), 40*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	tab2, cancel2 := chromedp.NewContext(step)
	defer cancel2()
	tabs := []context.Context{step, tab2}
	pages := []string{"/?tab=1", "/admin/?tab=2"}
	for i, tab := range tabs {
		if err := chromedp.Do(tab, chromedp.Navigate(d.URL+pages[i]), chromedp.WaitVisible("#username")); err != nil {
			t.Fatalf("tab %d at the provider: %v", i+1, err)
		}
	}
	for _, i := range []int{1, 0} {
		err := chromedp.Do(tabs[i], chromedp.SendKeys("#username", "alice"),
			chromedp.SendKeys("#password", d.Users["alice"]), chromedp.Click("#submit"))
		if err != nil {
			t.Fatalf("tab %d: %v", i+1, err)
		}
		pageAfter(t, tabs[i], "#user")
		if loc, _ := chromedp.Run(tabs[i], chromedp.Location()); loc != d.URL+pages[i] {
			t.Errorf("tab %d signed in at %s, want %s\n%s", i+1, loc, d.URL+pages[i], d.Proc.Output())
		}
	}
}
