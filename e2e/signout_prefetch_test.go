package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// speculativePage links to the sign-out and asks the browser to prefetch
// it (Speculation Rules), as a page that prefetches its links does.
const speculativePage = `<!doctype html><title>app</title>
<a id="out" href="/oauth2/sign_out">Sign out</a>
<script type="speculationrules">{"prefetch":[{"source":"list","urls":["/oauth2/sign_out"],"eagerness":"immediate"}]}</script>
<p id="ready">ready</p>`

// TestSignOutIsNotPrefetched: Chromium prefetches a page's links when the
// page asks for it (Speculation Rules; some sites prefetch every link on
// hover). A prefetched sign-out signed the user out without a click; now
// the prefetch reaches the gateway and ends nothing.
func TestSignOutIsNotPrefetched(t *testing.T) {
	t.Parallel()
	gw, out, _ := prefetchedBy(t, speculativePage, "/oauth2/sign_out")
	if strings.Contains(opsMetrics(t, gw), "portcullis_logouts_total{") {
		n := metricValue(t, gw, `portcullis_logouts_total{kind="sign_out",result="ended"}`)
		t.Errorf("the page's prefetch of its sign-out link signed the user out (%v sign-outs), without a click\n%s", n, out)
	}
}

// prefetchedBy signs a user in with Chromium (a real provider, Redis and
// gateway) on a page whose HTML is page, and waits until the gateway has
// logged the browser's prefetch of path (a fixed wait was too short on a
// loaded machine). It returns the gateway, its output by then, and the
// browser's context for more steps (30 s).
func prefetchedBy(t *testing.T, page, path string) (*gateway, string, context.Context) {
	t.Helper()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	step, cancel := context.WithTimeout(newChromium(t), 30*time.Second)
	t.Cleanup(cancel)
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/page"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("login in the browser: %v\n%s", err, gw.Proc.Output())
	}
	out := gw.Proc.Output()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out, "path="+path); out = gw.Proc.Output() {
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not prefetch %s within 15 s: the test saw nothing\n%s", path, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return gw, out, step
}
