package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestForwardAuthEndedSessionClearsCookieInChromium: a signed-in user
// follows a link from another site (a page on localhost to the app on
// 127.0.0.1) after the session ended (its refresh refused). Chromium
// reaches the gateway's start with Sec-Fetch-Site: cross-site, where start
// does not clear the cookie, and waits at the provider's consent page: it
// must hold no session cookie for the app by then, through every
// documented front proxy.
func TestForwardAuthEndedSessionClearsCookieInChromium(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app, ports and browser
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFrontWith(t, front.trusted, front.start,
				oidctest.Options{AccessTokenLifetime: 3 * time.Second, Consent: true}, "refresh_margin = \"2s\"\n")
			app := "http://" + s.front
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = w.Write([]byte(`<!doctype html><a id="go" href="` + app + `/hello">the app</a>`))
			}))
			t.Cleanup(other.Close)
			tab, cancel := context.WithTimeout(newChromium(t), 60*time.Second)
			defer cancel()
			if v := settled(t, tab, open(t, tab, app+"/hello")); !atConsent(v) {
				t.Fatalf("sign-in: at %s (%d)", v.URL, v.Status)
			}
			if v := click(t, tab, "#allow"); v.Status != 200 || !strings.Contains(v.Text, `"alice"`) {
				t.Fatalf("sign-in: back at %s (%d)", v.URL, v.Status)
			}
			signedIn := time.Now()
			if !chromiumHasCookie(t, tab, app+"/", "portcullis") {
				t.Fatal("no session cookie after the sign-in")
			}
			s.p.SetFaults(oidctest.FaultChangedSub) // the next refresh is refused
			sleepUntil(signedIn.Add(1200 * time.Millisecond))
			open(t, tab, strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/")
			if v := settled(t, tab, click(t, tab, "#go")); !atConsent(v) {
				t.Fatalf("the link after the session ended: at %s (%d), want the provider's sign-in", v.URL, v.Status)
			}
			if chromiumHasCookie(t, tab, app+"/", "portcullis") {
				t.Error("Chromium still holds the ended session's cookie at the provider's sign-in")
			}
		})
	}
}

// settled is the page the tab shows once Traefik's 401 page, which goes
// to sign in by a meta refresh, has gone on (v when it is another page).
func settled(t *testing.T, tab context.Context, v shown) shown {
	t.Helper()
	for v.Status == http.StatusUnauthorized && tab.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		v = view(t, tab)
	}
	return v
}

// chromiumHasCookie reports whether the tab's browser sends a cookie named
// name to u.
func chromiumHasCookie(t *testing.T, tab context.Context, u, name string) bool {
	t.Helper()
	res, err := chromedp.Run(tab, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	})
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return true
		}
	}
	return false
}
