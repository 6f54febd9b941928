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

// siblingDomain is a registrable domain whose hosts Chromium counts as one
// site and as secure contexts (it sends Sec-Fetch-* to them over http).
const siblingDomain = "portcullis.localhost"

// siblingChromium is a Chromium that resolves every host of siblingDomain
// to 127.0.0.1.
func siblingChromium(t *testing.T) context.Context {
	t.Helper()
	return newChromiumIn(t, t.TempDir(), chromedp.Flag("host-resolver-rules", "MAP *."+siblingDomain+" 127.0.0.1"))
}

// appHostGateway starts a gateway for p in front of upstreamURL whose
// public_url is on the host public of siblingDomain, with its cookie_domain,
// serving the application's host app of siblingDomain (/bye public there) on
// the same port, an allowed redirect host. It returns the gateway and the
// application's origin.
func appHostGateway(t *testing.T, p *oidctest.Provider, upstreamURL, public string) (*gateway, string) {
	t.Helper()
	a := pickAddrs(t)
	port := a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	gw := startGateway(t, a, tomlConfig{
		PublicURL: "http://" + public + "." + siblingDomain + ":" + port,
		Server:    `allowed_redirect_hosts = ["app.` + siblingDomain + `:` + port + `"]`,
		Session:   `cookie_domain = "` + siblingDomain + `"`,
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  upstreamURL,
		Routes: "[[routes]]\nhost = \"app." + siblingDomain + "\"\npath = \"/bye\"\npublic = true\n\n" +
			"[[routes]]\nhost = \"app." + siblingDomain + "\"\npath = \"/**\"\n",
	}.String())
	return gw, "http://app." + siblingDomain + ":" + port
}

// TestSiblingSignOutInChromium: a page on a sibling host of the gateway's
// (evil.portcullis.localhost beside app.portcullis.localhost) is the same
// site to the browser, which sends the gateway's SameSite=Lax cookie with
// its image requests and links, Sec-Fetch-Site same-site and no Origin. Its
// <img> of {prefix}/sign_out, or a link there, signed the gateway's users
// out. An allowed redirect host's link still signs out, named by its
// Referer, and so does a link on the gateway's own page.
func TestSiblingSignOutInChromium(t *testing.T) {
	t.Parallel() // its cases share its one browser and session, one after another
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><a id="out" href="/oauth2/sign_out?rd=/public/">out</a><p id="ready">ready</p>`))
	}))
	t.Cleanup(up.Close)
	a := pickAddrs(t)
	gwOrigin := "http://app." + siblingDomain + ":" + a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	signOut := gwOrigin + "/oauth2/sign_out?rd=/public/"
	sib := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Query().Get("policy"); p != "" {
			w.Header().Set("Referrer-Policy", p)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>sibling</title>
<img src="` + signOut + `" onload="document.title='loaded'" onerror="document.title='loaded'">
<a id="out" href="` + signOut + `">sign out</a>`))
	}))
	t.Cleanup(sib.Close)
	sibPort := sib.URL[strings.LastIndex(sib.URL, ":")+1:]
	gw := startGateway(t, a, tomlConfig{
		PublicURL: gwOrigin,
		Server:    `allowed_redirect_hosts = ["portal.` + siblingDomain + `:` + sibPort + `"]`,
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  up.URL,
		Routes:    publicAndSignedIn,
	}.String())
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	signedIn := func(t *testing.T) bool {
		t.Helper()
		if err := chromedp.Do(step, chromedp.Navigate(gwOrigin+"/public/"), chromedp.WaitVisible("#ready")); err != nil {
			t.Fatalf("the gateway's public page: %v\n%s", err, gw.Proc.Output())
		}
		status, err := chromedp.Run(step, chromedp.Evaluate[int](`fetch("/app").then(r => r.status)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		return status == 200
	}
	signIn := func(t *testing.T) {
		t.Helper()
		if err := chromedp.Do(step, chromedp.Navigate(gwOrigin+"/app"), chromedp.WaitVisible("#ready")); err != nil {
			t.Fatalf("sign-in: %v\n%s", err, gw.Proc.Output())
		}
		if !signedIn(t) {
			t.Fatalf("not signed in after the sign-in\n%s", gw.Proc.Output())
		}
	}
	for _, tc := range []struct {
		name, host string
		policy     string // the page's Referrer-Policy
		click      bool
		confirm    bool // click the refusal page's "Sign out" button
		signsOut   bool
	}{
		{"a sibling's image", "evil", "", false, false, false},
		{"a sibling's link", "evil", "", true, false, false},
		{"an allowed host's link", "portal", "", true, false, true},
		// Helmet's default, and Django's: the browser sends no Referer, so
		// the sign-out is refused; its page offers the button that signs out.
		{"an allowed host's link, no-referrer, confirmed", "portal", "no-referrer", true, true, true},
		{"an allowed host's link, same-origin, confirmed", "portal", "same-origin", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signIn(t)
			page := "http://" + tc.host + "." + siblingDomain + ":" + sibPort + "/?policy=" + tc.policy
			actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(page), chromedp.WaitVisible("#out"),
				chromedp.Poll[chromedp.Void](`document.title === "loaded"`)}
			if tc.click {
				actions = append(actions, chromedp.Click("#out"), chromedp.WaitVisible("h1, #ready"))
			}
			if tc.confirm {
				actions = append(actions, chromedp.WaitVisible(`button[type="submit"]`),
					chromedp.Click(`button[type="submit"]`), chromedp.WaitVisible("#ready"))
			}
			if err := chromedp.Do(step, actions...); err != nil {
				t.Fatalf("the %s page: %v\n%s", tc.host, err, gw.Proc.Output())
			}
			if got := !signedIn(t); got != tc.signsOut {
				t.Errorf("signed out: %v, want %v\n%s", got, tc.signsOut, gw.Proc.Output())
			}
		})
	}
	t.Run("the gateway's own link", func(t *testing.T) {
		signIn(t)
		if err := chromedp.Do(step, chromedp.Navigate(gwOrigin+"/app"), chromedp.WaitVisible("#out"), chromedp.Click("#out"), chromedp.WaitVisible("#ready")); err != nil {
			t.Fatal(err)
		}
		if signedIn(t) {
			t.Errorf("still signed in after the gateway's own sign-out link\n%s", gw.Proc.Output())
		}
	})
}
