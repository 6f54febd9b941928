package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBackAfterSignOutInChromium: on a shared computer the next person
// presses Back after a user signed out. Chromium brought the application's
// pages back from its back/forward cache or its HTTP cache (a text document
// and a page the application let the browser keep for 10 minutes, and the
// page signed out from, which said nothing about caching) without asking
// the gateway, and showed the previous user's content. Each Back must now reach the gateway, which
// sends it to sign in (the provider's login page). The sign-out is made on
// public_url's own host, and on an application's host, whose sign-out goes
// on to public_url's: the application's pages are cached on its host.
func TestBackAfterSignOutInChromium(t *testing.T) {
	t.Parallel() // each case in parallel: each has its own gateway, provider, app, ports and browser
	for _, tc := range []struct{ name, public string }{
		{"on public_url's host", "app"},
		{"on an application's host", "auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			backAfterSignOut(t, tc.public)
		})
	}
}

// backAfterSignOut runs TestBackAfterSignOutInChromium with the application
// on app.portcullis.localhost and public_url on the host public names
// ("app": the application's own).
func backAfterSignOut(t *testing.T, public string) {
	p := oidctest.New(t, oidctest.Options{})
	var renders atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		n := renders.Add(1)
		switch r.URL.Path {
		case "/bye":
			_, _ = w.Write([]byte(`<!doctype html><title>bye</title><p id="bye">signed out</p>`))
			return
		case "/statement.txt":
			// Not a page: a document the browser shows in the tab.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "max-age=600")
			_, _ = w.Write([]byte("alice's page /statement.txt #" + strconv.FormatInt(n, 10)))
			return
		case "/cached":
			w.Header().Set("Cache-Control", "max-age=600")
		}
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><p id="secret">alice's page ` + r.URL.Path +
			` #` + strconv.FormatInt(n, 10) + `</p><a id="out" href="/oauth2/sign_out?rd=/bye">sign out</a>`))
	}))
	t.Cleanup(up.Close)
	// The provider's login page, where a sign-in goes once the user signed
	// out: the next person does not know alice's password.
	login := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>login</title><p id="login">sign in</p>`))
	}))
	t.Cleanup(login.Close)
	gw, app := appHostGateway(t, p, up.URL, public)
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, page := range []string{"/statement.txt", "/cached", "/plain"} {
		if err := chromedp.Do(step, chromedp.Navigate(app+page), chromedp.WaitVisible("body")); err != nil {
			t.Fatalf("%s: %v\n%s", page, err, gw.Proc.Output())
		}
	}
	p.SetRedirect("/authorize", http.StatusFound, login.URL+"/")
	if err := chromedp.Do(step, chromedp.Click("#out"), chromedp.WaitVisible("#bye")); err != nil {
		loc, _ := chromedp.Run(step, chromedp.Location())
		t.Fatalf("sign-out: %v (at %s)\n%s", err, loc, gw.Proc.Output())
	}
	for _, page := range []string{"/plain", "/cached", "/statement.txt"} {
		body := back(t, step)
		if strings.Contains(body, "alice's page") || !strings.Contains(body, "sign in") {
			loc, _ := chromedp.Run(step, chromedp.Location())
			t.Errorf("Back to %s after the sign-out showed %q at %s, want the provider's login page", page, body, loc)
		}
	}
}

// back goes back in the tab's history and returns the text of the page it
// shows once loaded. The page left is marked, so a wait cannot end on it.
func back(t *testing.T, step context.Context) string {
	t.Helper()
	if _, err := chromedp.Run(step, chromedp.Evaluate[bool](`window.left = true; history.back(); true`)); err != nil {
		t.Fatalf("history.back(): %v", err)
	}
	js := `!window.left && document.readyState === "complete" && document.body ? document.body.innerText : ""`
	for {
		body, err := chromedp.Run(step, chromedp.Evaluate[string](js))
		if err == nil && body != "" {
			return body
		}
		if step.Err() != nil {
			t.Fatalf("no page after Back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
