package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// plainDomain is a registrable domain that is no loopback name: Chromium
// counts an http page on *.localhost as a secure context, and one here as
// what a network attacker can serve for any host of the site.
const plainDomain = "portcullis.test"

// TestPlainHTTPCannotPlantDomainSession: with an https public_url and a
// cookie_domain, the default session cookie was "portcullis", which any
// plain-http answer for a host of that domain may set (a network attacker
// on the user's path forges one for any name of the site that HSTS does
// not cover). Mallory signs in, keeps his own session cookie, and plants
// it from http://evil.portcullis.test into a browser that has none: the
// application then took that browser's user for mallory (login CSRF:
// whatever the user entered went to his account). The default name is
// now "__Secure-portcullis", which Chromium accepts from https only.
func TestPlainHTTPCannotPlantDomainSession(t *testing.T) {
	t.Parallel()
	site := newHTTPSSite(t)
	p := oidctest.New(t, oidctest.Options{Consent: true})
	p.SetUser(oidctest.User{Subject: "mallory", Claims: map[string]any{"email": "mallory@example.com", "email_verified": true}})
	a := pickAddrs(t)
	port := a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	gw := startGateway(t, a, tomlConfig{PublicURL: "https://auth." + plainDomain + ":" + port,
		Server:   "tls_cert_file = \"" + site.cert + "\"\ntls_key_file = \"" + site.key + "\"\n",
		Session:  "cookie_domain = \"" + plainDomain + "\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: newPageUpstream(t),
		Routes: httpsRoutes}.String())
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Add("Set-Cookie", q.Get("name")+"="+q.Get("value")+"; Domain="+plainDomain+"; Path=/")
		_, _ = w.Write([]byte(`<!doctype html><p id="planted">planted</p>`))
	}))
	t.Cleanup(evil.Close)
	evilPort := evil.URL[strings.LastIndex(evil.URL, ":")+1:]
	tab, cancel := context.WithTimeout(newChromiumIn(t, t.TempDir(),
		chromedp.Flag("ignore-certificate-errors-spki-list", site.spki),
		chromedp.Flag("host-resolver-rules", "MAP *."+plainDomain+" 127.0.0.1")), 60*time.Second)
	defer cancel()
	app := "https://auth." + plainDomain + ":" + port + "/app"

	// Mallory's own sign-in, in his own browser: his session cookie.
	if err := chromedp.Do(tab, chromedp.Navigate(app), chromedp.WaitVisible("#allow"), chromedp.Click("#allow"),
		chromedp.WaitVisible("#echo")); err != nil {
		t.Fatalf("mallory's sign-in: %v (%s)\n%s", err, shownPage(tab), gw.Proc.Output())
	}
	var own *network.Cookie
	for _, c := range jar(t, tab) {
		if c.Domain == "."+plainDomain {
			own = c
		}
	}
	if own == nil {
		t.Fatalf("no session cookie on %s in the jar", plainDomain)
	}
	if _, err := chromedp.Run(tab, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
	}); err != nil {
		t.Fatalf("clearing the cookies: %v", err)
	}

	// The victim's browser, without a session, gets a plain-http answer
	// of the site that sets mallory's cookie under the gateway's name.
	plant := "http://evil." + plainDomain + ":" + evilPort + "/plant?name=" + own.Name + "&value=" + url.QueryEscape(own.Value)
	if err := chromedp.Do(tab, chromedp.Navigate(plant), chromedp.WaitVisible("#planted"),
		chromedp.Navigate(app), chromedp.WaitVisible("#echo, #allow")); err != nil {
		t.Fatalf("%v (%s)\n%s", err, shownPage(tab), gw.Proc.Output())
	}
	if text, err := chromedp.Run(tab, chromedp.Text("#echo")); err == nil {
		t.Errorf("a session cookie %s planted over plain http signed the browser in: the app got %q",
			own.Name, decodeSeen(t, text).Headers.Get("X-Forwarded-User"))
	}
	if !strings.HasPrefix(own.Name, "__Secure-") {
		t.Errorf("session cookie %s has no __Secure- prefix", describe(own))
	}
}
