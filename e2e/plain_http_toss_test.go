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

// TestPlainHTTPPlantsOnlyUnprefixedSession: with an https public_url and a
// cookie_domain, the default session cookie is "portcullis" (documented),
// which any plain-http answer for a host of that domain may set (a network
// attacker on the user's path forges one for any name of the site that
// HSTS does not cover). Mallory signs in, keeps his own session cookie, and
// plants it from http://evil.portcullis.test into a browser that has none.
//
// With the default name the application then takes that browser's user
// for mallory (login CSRF): the risk check warns about
// (TestUnprefixedCookieNameWarned), asserted so that a change of its
// premise is noticed. With cookie_name = "__Secure-portcullis", as the
// warning advises, Chromium refuses the planted cookie from http, the
// gateway opens no cookie of the unprefixed name either, and the browser
// is sent to sign in.
func TestPlainHTTPPlantsOnlyUnprefixedSession(t *testing.T) {
	t.Parallel()
	t.Run("default portcullis", func(t *testing.T) {
		t.Parallel()
		s := startPlantSite(t, "")
		own := s.ownSession(t)
		if own.Name != "portcullis" {
			t.Fatalf("default session cookie %s, want portcullis", describe(own))
		}
		if user := s.plantAndVisit(t, own.Name, own.Value); user != "mallory" {
			t.Errorf("the planted %s did not sign the browser in as mallory (got %q): check's warning "+
				"about the unprefixed default no longer holds", own.Name, user)
		}
	})
	t.Run("__Secure-portcullis", func(t *testing.T) {
		t.Parallel()
		s := startPlantSite(t, "cookie_name = \"__Secure-portcullis\"\n")
		own := s.ownSession(t)
		if own.Name != "__Secure-portcullis" {
			t.Fatalf("session cookie %s, want __Secure-portcullis", describe(own))
		}
		for _, name := range []string{own.Name, "portcullis"} {
			if user := s.plantAndVisit(t, name, own.Value); user != "" {
				t.Errorf("a session cookie %s planted over plain http signed the browser in: the app got %q", name, user)
			}
		}
	})
}

// plantSite is a gateway on https://auth.portcullis.test with a
// cookie_domain, mallory's provider, a plain-http server of the site that
// sets the cookie its query names, and a Chromium tab resolving the site.
type plantSite struct {
	gw        *gateway
	tab       context.Context
	app, evil string
}

// startPlantSite starts a plantSite whose [session] has the keys session
// besides the cookie_domain.
func startPlantSite(t *testing.T, session string) plantSite {
	site := newHTTPSSite(t)
	p := oidctest.New(t, oidctest.Options{Consent: true})
	p.SetUser(oidctest.User{Subject: "mallory", Claims: map[string]any{"email": "mallory@example.com", "email_verified": true}})
	a := pickAddrs(t)
	port := a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	gw := startGateway(t, a, tomlConfig{PublicURL: "https://auth." + plainDomain + ":" + port,
		Server:   "tls_cert_file = \"" + site.cert + "\"\ntls_key_file = \"" + site.key + "\"\n",
		Session:  "cookie_domain = \"" + plainDomain + "\"\n" + session,
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: newPageUpstream(t),
		Routes: httpsRoutes}.String())
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Add("Set-Cookie", q.Get("name")+"="+q.Get("value")+"; Domain="+plainDomain+"; Path=/")
		_, _ = w.Write([]byte(`<!doctype html><p id="planted">planted</p>`))
	}))
	t.Cleanup(evil.Close)
	tab, cancel := context.WithTimeout(newChromiumIn(t, t.TempDir(),
		chromedp.Flag("ignore-certificate-errors-spki-list", site.spki),
		chromedp.Flag("host-resolver-rules", "MAP *."+plainDomain+" 127.0.0.1")), 90*time.Second)
	t.Cleanup(cancel)
	return plantSite{gw: gw, tab: tab, app: "https://auth." + plainDomain + ":" + port + "/app",
		evil: "http://evil." + plainDomain + ":" + evil.URL[strings.LastIndex(evil.URL, ":")+1:]}
}

// ownSession signs mallory in and returns his session cookie, then clears
// the browser's cookies: the tab is the victim's browser from then on.
func (s plantSite) ownSession(t *testing.T) *network.Cookie {
	if err := chromedp.Do(s.tab, chromedp.Navigate(s.app), chromedp.WaitVisible("#allow"), chromedp.Click("#allow"),
		chromedp.WaitVisible("#echo")); err != nil {
		t.Fatalf("mallory's sign-in: %v (%s)\n%s", err, shownPage(s.tab), s.gw.Proc.Output())
	}
	var own *network.Cookie
	for _, c := range jar(t, s.tab) {
		if c.Domain == "."+plainDomain {
			own = c
		}
	}
	if own == nil {
		t.Fatalf("no session cookie on %s in the jar", plainDomain)
	}
	s.clearCookies(t)
	return own
}

func (s plantSite) clearCookies(t *testing.T) {
	if _, err := chromedp.Run(s.tab, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
	}); err != nil {
		t.Fatalf("clearing the cookies: %v", err)
	}
}

// plantAndVisit has the plain-http answer set name=value, opens the app,
// and returns the user the app got, "" when the browser was sent to sign
// in instead. It clears the cookies afterwards.
func (s plantSite) plantAndVisit(t *testing.T, name, value string) string {
	defer s.clearCookies(t)
	plant := s.evil + "/plant?name=" + url.QueryEscape(name) + "&value=" + url.QueryEscape(value)
	if err := chromedp.Do(s.tab, chromedp.Navigate(plant), chromedp.WaitVisible("#planted"),
		chromedp.Navigate(s.app), chromedp.WaitVisible("#echo, #allow")); err != nil {
		t.Fatalf("%v (%s)\n%s", err, shownPage(s.tab), s.gw.Proc.Output())
	}
	text, err := chromedp.Run(s.tab, chromedp.Text("#echo", chromedp.AtLeast(0)))
	if err != nil {
		if _, err := chromedp.Run(s.tab, chromedp.Text("#allow", chromedp.AtLeast(0))); err != nil {
			t.Fatalf("planted %s: neither the app nor the sign-in page (%s)", name, shownPage(s.tab))
		}
		return ""
	}
	return decodeSeen(t, text).Headers.Get("X-Forwarded-User")
}
