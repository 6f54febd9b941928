package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestNextUserGetsOwnAnswersInChromium: on a shared computer a user's
// session ends without a sign-out (its cookie reaches its lifetime, the
// session is revoked, the user walks away) and the next person signs in
// in the same browser. The application's data answers (JSON it let the
// browser keep for 10 minutes, which the gateway makes private) were kept
// in the browser's HTTP cache by URL alone: the next user's page fetched
// /api/me and was handed alice's answer from the cache, without a request
// reaching the gateway. Every answer let through for an identity now
// varies on the credentials (Vary: Cookie, Authorization), so the browser
// asks again for another session.
func TestNextUserGetsOwnAnswersInChromium(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	var apiCalls atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/me" {
			apiCalls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=600")
			_, _ = w.Write([]byte(`{"user":"` + r.Header.Get("X-Forwarded-User") + `"}`))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><p id="ready">ready</p>`))
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", "[[routes]]\npath = \"/**\"\n"))
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	defer cancel()
	if got := signInAndFetch(t, ctx, gw, "/api/me"); !strings.Contains(got, `"alice"`) {
		t.Fatalf("alice's /api/me = %q\n%s", got, gw.Proc.Output())
	}
	// alice's session ends without a sign-out: the browser no longer has
	// its cookie (as when it reaches its Max-Age, the session's lifetime).
	if _, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
	}); err != nil {
		t.Fatalf("clearing the cookies: %v", err)
	}
	p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.com", "email_verified": true, "preferred_username": "bob"}})
	got := signInAndFetch(t, ctx, gw, "/api/me")
	if !strings.Contains(got, `"bob"`) || apiCalls.Load() != 2 {
		t.Errorf("bob's /api/me = %q after %d upstream calls, want bob's own answer (2 calls)", got, apiCalls.Load())
	}
}

// signInAndFetch navigates to the gateway's root (a sign-in when the
// browser has no session, which the provider grants at once) and returns
// what the page's fetch of path reads, the browser's cache allowed.
func signInAndFetch(t *testing.T, ctx context.Context, gw *gateway, path string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL+"/"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("sign-in: %v\n%s", err, gw.Proc.Output())
	}
	js := `fetch(` + jsString(path) + `).then(r => r.text())`
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch %s: %v", path, err)
	}
	return body
}
