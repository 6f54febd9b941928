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
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(speculativePage))
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	ctx := newChromium(t)
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/page"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("login in the browser: %v\n%s", err, gw.Proc.Output())
	}
	// The prefetch's log line, written once it was answered (a fixed wait
	// was too short on a loaded machine).
	out := gw.Proc.Output()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out, "path=/oauth2/sign_out"); out = gw.Proc.Output() {
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not prefetch the sign-out link within 15 s: the test saw nothing\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if strings.Contains(opsMetrics(t, gw), "portcullis_logouts_total{") {
		n := metricValue(t, gw, `portcullis_logouts_total{kind="sign_out"}`)
		t.Errorf("the page's prefetch of its sign-out link signed the user out (%v sign-outs), without a click\n%s", n, out)
	}
}
