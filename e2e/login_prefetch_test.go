package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
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
	gw, _, step := prefetchedBy(t, signInPrefetchPage, "/oauth2/start")
	// The browser's next page needs no new login when the session lived.
	if err := chromedp.Do(step, chromedp.Navigate(gw.URL+"/app/other"), chromedp.WaitVisible("#ready")); err != nil {
		t.Fatalf("the next page: %v\n%s", err, gw.Proc.Output())
	}
	if n := metricValue(t, gw, startedLogins); n != 1 {
		t.Errorf("%v logins started, want the one of the first page: the prefetch of the sign-in link ended the session\n%s", n, gw.Proc.Output())
	}
}
