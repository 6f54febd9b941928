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

// TestHostileAppCannotClearGatewayCookiesInChromium: one gateway fronts an
// application on app.portcullis.localhost and a hostile one, on a sibling
// host (public) and under /hostile/ on the application's own host. The
// hostile one answers Clear-Site-Data "cookies" (or "*"), which Chromium
// obeys for the whole registrable domain: it deleted the gateway's session
// cookie, signing the user out of the gateway and every application behind
// it. The user stays signed in.
func TestHostileAppCannotClearGatewayCookiesInChromium(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><p id="ready">ready</p>`))
	}))
	t.Cleanup(app.Close)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Clear-Site-Data"] = []string{r.URL.Query().Get("csd")}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>hostile</title><p id="hostile">hostile</p>`))
	}))
	t.Cleanup(hostile.Close)
	a := pickAddrs(t)
	port := a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	appOrigin := "http://app." + siblingDomain + ":" + port
	evilOrigin := "http://evil." + siblingDomain + ":" + port
	gw := startGateway(t, a, tomlConfig{
		PublicURL: appOrigin,
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  app.URL,
		Extra:     "[[upstreams]]\nname = \"hostile\"\nurl = \"" + hostile.URL + "\"\n",
		Routes: "[[routes]]\nhost = \"evil." + siblingDomain + "\"\npath = \"/**\"\npublic = true\nupstream = \"hostile\"\n\n" +
			"[[routes]]\npath = \"/hostile/**\"\nupstream = \"hostile\"\n\n" +
			"[[routes]]\npath = \"/**\"\nupstream = \"app\"\n",
	}.String())
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	signedIn := func(t *testing.T) bool {
		t.Helper()
		if err := chromedp.Do(step, chromedp.Navigate(appOrigin+"/oauth2/healthz")); err != nil {
			t.Fatalf("the gateway: %v\n%s", err, gw.Proc.Output())
		}
		status, err := chromedp.Run(step, chromedp.Evaluate[int](`fetch("/app", {redirect: "manual"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		return status == 200
	}
	for _, tc := range []struct{ name, page string }{
		{"a sibling host, cookies", evilOrigin + "/?csd=%22cookies%22"},
		{"a sibling host, star", evilOrigin + "/?csd=%22*%22"},
		{"the same host, cookies and storage", appOrigin + "/hostile/?csd=%22storage%22,%20%22COOKIES%22,%20%22cookies%22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := chromedp.Do(step, chromedp.Navigate(appOrigin+"/app"), chromedp.WaitVisible("#ready")); err != nil {
				t.Fatalf("sign-in: %v\n%s", err, gw.Proc.Output())
			}
			if !signedIn(t) {
				t.Fatalf("not signed in after the sign-in\n%s", gw.Proc.Output())
			}
			if err := chromedp.Do(step, chromedp.Navigate(tc.page), chromedp.WaitVisible("#hostile")); err != nil {
				t.Fatalf("the hostile page: %v\n%s", err, gw.Proc.Output())
			}
			if !signedIn(t) {
				t.Errorf("the hostile application's answer signed the browser out of the gateway")
			}
		})
	}
}
