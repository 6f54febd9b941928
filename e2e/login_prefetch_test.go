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

// signInPrefetchPage links to a sign-in ("switch account") and asks the
// browser to prefetch it, as a page that prefetches its links does.
const signInPrefetchPage = `<!doctype html><title>app</title>
<a id="in" href="/oauth2/start?rd=%2Fapp%2Fpage">Switch account</a>
<script type="speculationrules">{"prefetch":[{"source":"list","urls":["/oauth2/start?rd=%2Fapp%2Fpage"],"eagerness":"immediate"}]}</script>
<p id="ready">ready</p>`

// startedLogins is the gateway's count of logins started.
const startedLogins = `portcullis_logins_total{reason="",result="started"}`

// TestSignInIsNotPrefetched: Chromium's prefetch of a page's sign-in link
// reached start, which ends the session of a sign-in from the same site:
// the user was signed out without a click, and the next page asked for a
// new login. Now the prefetch is refused, and the session lives on.
func TestSignInIsNotPrefetched(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(signInPrefetchPage))
	}))
	t.Cleanup(up.Close)
	gw := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	ctx := newChromium(t)
	step, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/page"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("login in the browser: %v\n%s", err, gw.Proc.Output())
	}
	out := gw.Proc.Output()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(out, "path=/oauth2/start"); out = gw.Proc.Output() {
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not prefetch the sign-in link within 15 s: the test saw nothing\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The browser's next page needs no new login when the session lived.
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/other"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("the next page: %v\n%s", err, gw.Proc.Output())
	}
	if n := metricValue(t, gw, startedLogins); n != 1 {
		t.Errorf("%v logins started, want the one of the first page: the prefetch of the sign-in link ended the session\n%s", n, gw.Proc.Output())
	}
}
