package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
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
	up, users := handshakeRecorder(t)
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
	open := openWebSocketJS(gw.URL + "/app/ws")
	for _, c := range []struct{ at, want string }{{page.URL + "/", "refused"}, {gw.URL + "/app/home", "open"}} {
		if err := chromedp.Do(step, chromedp.Navigate(c.at)); err != nil {
			t.Fatalf("navigate to %s: %v", c.at, err)
		}
		got, err := chromedp.Run(step, chromedp.Evaluate[string](open, chromedp.EvalAwaitPromise))
		if err != nil || got != c.want {
			t.Errorf("a WebSocket opened by the page at %s: %q, %v; want %s", c.at, got, err, c.want)
		}
	}
	if got := users(); len(got) != 1 || got[0] != "alice" {
		t.Errorf("the app got handshakes as %q, want one, alice's, from the gateway's own page\n%s", got, gw.Proc.Output())
	}
}

// handshakeRecorder is an application that echoes WebSockets and records
// the X-Forwarded-User of each handshake it gets; users returns them.
func handshakeRecorder(t *testing.T) (up *httptest.Server, users func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			mu.Lock()
			got = append(got, r.Header.Get("X-Forwarded-User"))
			mu.Unlock()
		}
		echoWebSocket(w, r)
	}))
	t.Cleanup(up.Close)
	return up, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// openWebSocketJS is a script that opens a WebSocket to the http(s) URL u
// and resolves to "open", "refused" or, after 10 s, "timeout".
func openWebSocketJS(u string) string {
	return `new Promise(res => { const ws = new WebSocket(` + jsString("ws"+strings.TrimPrefix(u, "http")) + `);
		ws.onopen = () => res("open"); ws.onerror = () => res("refused"); setTimeout(() => res("timeout"), 10000); })`
}
