package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestForwardAuthPageFetchInChromium: behind nginx and Caddy, a page's own
// fetch of HTML without a session reads a 401, as in proxy mode. The
// snippets redirected every 401 to start, which the browser followed to the
// provider, cross-origin: the page saw a CORS failure with no status, and
// each fetch started a login. ingress-nginx still redirects every 401, and
// start answers the page's request with the 401 instead.
func TestForwardAuthPageFetchInChromium(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app, ports and browser
	for _, fr := range frontProxies {
		if fr.name == "traefik" {
			continue // it passes the gateway's own 401 page on, as TestForwardAuthTraefik shows
		}
		t.Run(fr.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, fr.trusted, fr.start)
			ctx, cancel := context.WithTimeout(newChromium(t), 30*time.Second)
			defer cancel()
			// A public page of the app, where the page's script runs.
			if err := chromedp.Do(ctx, chromedp.Navigate("http://"+s.front+"/public/x")); err != nil {
				t.Fatalf("navigate: %v", err)
			}
			js := `fetch("/hello", {headers: {Accept: "text/html, */*"}}).then(
				r => String(r.status), e => "failed: " + e.message)`
			got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("fetch: %v", err)
			}
			if got != "401" {
				t.Errorf("the page's fetch without a session through %s: %s, want a 401 the page can read", fr.name, got)
			}
			if strings.Contains(opsMetrics(t, s.gw), startedLogins) {
				t.Errorf("the page's fetch started %v logins, want none", metricValue(t, s.gw, startedLogins))
			}
		})
	}
}
