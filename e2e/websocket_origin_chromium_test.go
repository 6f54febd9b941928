package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestCrossOriginWebSocketInChromium: Chromium, signed in at the gateway,
// visits a page on another port of the gateway's host (same site, another
// origin), whose script opens a WebSocket to the gateway. Chromium sends
// the SameSite=Lax session cookie with it: before, the handshake reached
// the application as the user's and the page's WebSocket opened. Now it is
// refused; the gateway's own page still opens one.
func TestCrossOriginWebSocketInChromium(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	var mu sync.Mutex
	var users []string // X-Forwarded-User of each handshake the app got
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			mu.Lock()
			users = append(users, r.Header.Get("X-Forwarded-User"))
			mu.Unlock()
		}
		echoWebSocket(w, r)
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), wsConfig(p, up.URL, "", ""))
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<!doctype html><title>other origin</title>"))
	}))
	t.Cleanup(page.Close)

	ctx := newChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/home")); err != nil {
		t.Fatalf("sign-in: %v\n%s", err, gw.Proc.Output())
	}
	open := `new Promise(res => { const ws = new WebSocket(` + jsString("ws"+strings.TrimPrefix(gw.URL, "http")+"/app/ws") + `);
		ws.onopen = () => res("open"); ws.onerror = () => res("refused"); setTimeout(() => res("timeout"), 10000); })`
	for _, c := range []struct{ at, want string }{{page.URL + "/", "refused"}, {gw.URL + "/app/home", "open"}} {
		if err := chromedp.Do(step, chromedp.Navigate(c.at)); err != nil {
			t.Fatalf("navigate to %s: %v", c.at, err)
		}
		got, err := chromedp.Run(step, chromedp.Evaluate[string](open, chromedp.EvalAwaitPromise))
		if err != nil || got != c.want {
			t.Errorf("a WebSocket opened by the page at %s: %q, %v; want %s", c.at, got, err, c.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(users) != 1 || users[0] != "alice" {
		t.Errorf("the app got handshakes as %q, want one, alice's, from the gateway's own page\n%s", users, gw.Proc.Output())
	}
}
