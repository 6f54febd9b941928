package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// attackerCallback signs user in at the demo provider from a client of its
// own, starting at the gateway's {prefix}/start?rd=rd, and stops before the
// gateway's callback: it returns that callback URL (the code and the state
// of the attacker's login) and the client, whose jar holds the login state.
func attackerCallback(t *testing.T, d *demoRun, rd, user string) (string, *http.Client) {
	t.Helper()
	c := browser(t)
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/oauth2/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	status, page, resp := get(t, c, d.URL+"/oauth2/start?rd="+url.QueryEscape(rd))
	m := loginIDField.FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("want the demo login form, got %d:\n%s", status, page)
	}
	form := url.Values{"id": {m[1]}, "username": {user}, "password": {d.Users[user]}}
	login := resp.Request.URL.ResolveReference(&url.URL{Path: "/login"})
	req, _ := http.NewRequest("POST", login.String(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, d.URL+"/oauth2/callback?") {
		t.Fatalf("the provider sent the attacker to %q, want the gateway's callback", cb)
	}
	return cb, c
}

// TestLoginCSRFInChromium: an attacker signs in as bob up to the callback
// and delivers that URL (bob's code and state) to a victim's Chromium. The
// victim's browser holds no login state for that state, so the gateway
// refuses the callback, and the victim is not signed in as bob.
func TestLoginCSRFInChromium(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	cb, attacker := attackerCallback(t, d, "/", "bob")
	attacker.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx := newChromium(t)
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(cb), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("victim at the attacker's callback: %v", err)
	}
	h1, _ := chromedp.Run(step, chromedp.Text("h1"))
	body, _ := chromedp.Run(step, chromedp.Text("body"))
	if h1 != "Sign-in failed" || !strings.Contains(body, "unknown") {
		t.Errorf("the attacker's callback in the victim's browser showed %q: %s", h1, body)
	}
	// The victim's next visit asks for a login: no session of bob's.
	if err := chromedp.Do(step, chromedp.Navigate(d.URL+"/"), chromedp.WaitVisible("#username")); err != nil {
		t.Fatalf("the victim's next visit did not reach the provider's form: %v", err)
	}
	// The same URL in the attacker's own browser, which holds its login
	// state, completes as bob: the victim was refused for want of that
	// state, not for a bad code.
	req, _ := http.NewRequest("GET", cb, nil)
	resp, err := attacker.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Errorf("the attacker's own callback: %d to %q, want 302 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestReturnURLsInChromium: a login started with each kind of hostile rd
// ends at a Location that Chromium itself resolves to the gateway's own
// origin, never another site.
func TestReturnURLsInChromium(t *testing.T) {
	t.Parallel()
	d := startDemo(t)
	hostile := []string{
		"//evil.test/", "/\\evil.test/", "/%5Cevil.test/", "/%2F%2Fevil.test/", "https:evil.test",
		"https:/evil.test", "/\t/evil.test", "/\n/evil.test", "\t//evil.test", "https://127.0.0.1@evil.test/",
		"http://evil.test\\@127.0.0.1/", "http://ｅｖｉｌ.test/", "http://evil.test./", "http://127.0.0.1:1/",
		"javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "/.//evil.test/", "/%2e%2e//evil.test",
		"/#/../%2F%2Fevil.test", "///evil.test/", "http:\\\\evil.test/",
	}
	ctx := newChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(d.URL+"/public/")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	gw, _ := url.Parse(d.URL)
	for _, rd := range hostile {
		cb, c := attackerCallback(t, d, rd, "alice")
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		req, _ := http.NewRequest("GET", cb, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || loc == "" {
			t.Fatalf("rd %q: the callback answered %d", rd, resp.StatusCode)
		}
		js := "new URL(" + jsString(loc) + ", " + jsString(cb) + ").origin"
		origin, err := chromedp.Run(step, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("rd %q: Location %q: %v", rd, loc, err)
		}
		if origin != gw.Scheme+"://"+gw.Host {
			t.Errorf("rd %q: Location %q leads Chromium to %s", rd, loc, origin)
		}
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "\u2028", `\u2028`, "\u2029", `\u2029`)
	return `"` + r.Replace(s) + `"`
}
