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

// TestWildcardSiblingWebSocketInChromium is
// TestWildcardRedirectHostOpensNoWebSocket in Chromium: signed in at
// app.portcullis.localhost, whose gateway lists the wildcard
// *.portcullis.localhost (at the sibling pages' port) among its
// allowed_redirect_hosts, the browser visits a page on a sibling host,
// evil.portcullis.localhost, whose script opens a WebSocket to the
// application. Chromium sends the session cookie with it (same site; the
// default host-only cookie of the application's host is enough): the page's
// WebSocket opened as alice before. A host the list names by itself
// (portal) still opens one.
func TestWildcardSiblingWebSocketInChromium(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up, users := handshakeRecorder(t)
	sib := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>sibling</title>"))
	}))
	t.Cleanup(sib.Close)
	sibPort := sib.URL[strings.LastIndex(sib.URL, ":")+1:]
	a := pickAddrs(t)
	gwOrigin := "http://app." + siblingDomain + ":" + a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	gw := startGateway(t, a, tomlConfig{
		PublicURL: gwOrigin,
		Server: `allowed_redirect_hosts = ["*.` + siblingDomain + `:` + sibPort + `", "portal.` +
			siblingDomain + `:` + sibPort + `"]`,
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL,
		Routes:   "[[routes]]\npath = \"/**\"\n",
	}.String())

	step, cancel := context.WithTimeout(siblingChromium(t), 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(gwOrigin+"/home")); err != nil {
		t.Fatalf("sign-in: %v\n%s", err, gw.Proc.Output())
	}
	open := openWebSocketJS(gwOrigin + "/ws")
	for _, c := range []struct{ host, want string }{{"evil", "refused"}, {"portal", "open"}} {
		at := "http://" + c.host + "." + siblingDomain + ":" + sibPort + "/"
		if err := chromedp.Do(step, chromedp.Navigate(at)); err != nil {
			t.Fatalf("navigate to %s: %v", at, err)
		}
		got, err := chromedp.Run(step, chromedp.Evaluate[string](open, chromedp.EvalAwaitPromise))
		if err != nil || got != c.want {
			t.Errorf("a WebSocket opened by the page at %s: %q, %v; want %s", at, got, err, c.want)
		}
	}
	if got := users(); len(got) != 1 || got[0] != "alice" {
		t.Errorf("the app got handshakes as %q, want one, alice's, from the listed host's page\n%s", got, gw.Proc.Output())
	}
}
