package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAppHostSignOutInChromium: an application's sign-out link on its own
// host (proxy mode, a cookie_domain shared with public_url's host) goes
// through public_url's sign_out, which the browser reaches by a redirect
// with Sec-Fetch-Site same-site and no Origin, and on through the
// provider's end-session endpoint back to the application. With the
// default Referrer-Policy the Referer names the application's host, an
// allowed redirect host, and the sign-out completes; a page that sends no
// Referer (no-referrer) gets the refusal page, whose button signs out.
func TestAppHostSignOutInChromium(t *testing.T) {
	t.Parallel() // its cases share its one browser, one after another
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if policy := r.URL.Query().Get("policy"); policy != "" {
			w.Header().Set("Referrer-Policy", policy)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/bye" {
			_, _ = w.Write([]byte(`<!doctype html><title>bye</title><p id="bye">bye</p>`))
			return
		}
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><a id="out" href="/oauth2/sign_out?rd=/bye">out</a><p id="ready">ready</p>`))
	}))
	t.Cleanup(up.Close)
	gw, app := appHostGateway(t, p, up.URL, "auth")
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name, policy string
		confirm      bool
	}{
		{"default Referrer-Policy", "strict-origin-when-cross-origin", false},
		{"no-referrer, confirmed", "no-referrer", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := chromedp.Do(step, chromedp.Navigate(app+"/?policy="+tc.policy), chromedp.WaitVisible("#ready")); err != nil {
				t.Fatalf("sign-in: %v\n%s", err, gw.Proc.Output())
			}
			actions := []chromedp.Action[chromedp.Void]{chromedp.Click("#out")}
			if tc.confirm {
				actions = append(actions, chromedp.WaitVisible(`button[type="submit"]`), chromedp.Click(`button[type="submit"]`))
			}
			actions = append(actions, chromedp.WaitVisible("#bye"))
			if err := chromedp.Do(step, actions...); err != nil {
				loc, _ := chromedp.Run(step, chromedp.Location())
				t.Fatalf("sign-out: %v (at %s)\n%s", err, loc, gw.Proc.Output())
			}
			if p.LastEndSession() == nil {
				t.Error("the sign-out did not go through the provider's end-session endpoint")
			}
			status, err := chromedp.Run(step, chromedp.Evaluate[int](`fetch("/").then(r => r.status)`, chromedp.EvalAwaitPromise))
			if err != nil || status == 200 {
				t.Errorf("after the sign-out, the app answers %d (%v)\n%s", status, err, gw.Proc.Output())
			}
		})
	}
}
