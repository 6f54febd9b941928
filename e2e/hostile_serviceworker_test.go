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

// hostileWorker is a service worker that answers the gateway's sign-out
// itself, with a page that looks signed out, and never asks the gateway.
const hostileWorker = `self.addEventListener("install", e => self.skipWaiting());
self.addEventListener("activate", e => e.waitUntil(clients.claim()));
self.addEventListener("fetch", e => {
	if (new URL(e.request.url).pathname.startsWith("/oauth2/sign_out"))
		e.respondWith(new Response('<p id="fake">signed out</p>', {headers: {"Content-Type": "text/html"}}));
});`

// workerHosts starts, behind one gateway on a sibling-domain origin, app
// (the upstream "app") and a hostile application (the upstream "hostile")
// whose worker scripts (paths ending in /sw.js, or asked with ?sw) are hostileWorker, with
// Service-Worker-Allowed allowed unless it is "", and whose other pages
// show #hostile; routes are the gateway's [[routes]].
func workerHosts(t *testing.T, app http.HandlerFunc, allowed, routes string) (string, *gateway) {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{})
	appSrv := httptest.NewServer(app)
	t.Cleanup(appSrv.Close)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sw.js") || r.URL.Query().Has("sw") {
			if allowed != "" {
				w.Header().Set("Service-Worker-Allowed", allowed)
			}
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write([]byte(hostileWorker))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>hostile</title><p id="hostile">hostile</p>`))
	}))
	t.Cleanup(hostile.Close)
	a := pickAddrs(t)
	origin := "http://app." + siblingDomain + ":" + a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	return origin, startGateway(t, a, tomlConfig{
		PublicURL: origin,
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  appSrv.URL,
		Extra:     "[[upstreams]]\nname = \"hostile\"\nurl = \"" + hostile.URL + "\"\n",
		Routes:    routes,
	}.String())
}

// TestHostileAppCannotWidenServiceWorkerInChromium: a gateway serves an
// application at / and a hostile one under /hostile/ on the same host. The
// hostile one answers its worker script with Service-Worker-Allowed: /,
// which let Chromium register the worker for the whole host: it then
// answered every later request of the origin, the other application's and
// the gateway's own, and faked the sign-out (the session lived on while the
// page said signed out). Registration for "/" now fails, and the sign-out
// reaches the gateway (a link on the application's page); the worker's own
// scope still registers.
func TestHostileAppCannotWidenServiceWorkerInChromium(t *testing.T) {
	t.Parallel()
	origin, gw := workerHosts(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>app</title><a id="out" href="/oauth2/sign_out?rd=/hostile/">out</a><p id="ready">ready</p>`))
	}, "/", "[[routes]]\npath = \"/hostile/**\"\npublic = true\nupstream = \"hostile\"\n\n[[routes]]\npath = \"/**\"\nupstream = \"app\"\n")
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(origin+"/app"), chromedp.WaitVisible("#ready"),
		chromedp.Navigate(origin+"/hostile/"), chromedp.WaitVisible("#hostile")); err != nil {
		t.Fatalf("sign-in and the hostile page: %v\n%s", err, gw.Proc.Output())
	}
	register := func(scope string) string {
		got, err := chromedp.Run(step, chromedp.Evaluate[string](`navigator.serviceWorker.register("/hostile/sw.js", {scope: "`+scope+`"})
			.then(r => navigator.serviceWorker.ready.then(() => "registered"), e => "refused: " + e.name)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		return got
	}
	if got := register("/"); got != "refused: SecurityError" {
		t.Errorf("the hostile worker for the whole host: %q, want refused: SecurityError", got)
	}
	if got := register("/hostile/"); got != "registered" {
		t.Errorf("the hostile worker for its own path: %q, want registered", got)
	}
	if err := chromedp.Do(step, chromedp.Navigate(origin+"/app"), chromedp.WaitVisible("#out"),
		chromedp.Click("#out"), chromedp.WaitVisible("#fake, #hostile")); err != nil {
		t.Fatalf("sign-out: %v\n%s", err, gw.Proc.Output())
	}
	status, err := chromedp.Run(step, chromedp.Evaluate[int](`fetch("/app", {redirect: "manual"}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if status == 200 {
		t.Errorf("still signed in after the sign-out: the hostile worker answered it\n%s", gw.Proc.Output())
	}
}

// TestHostileWorkerDefaultScopeInChromium: a gateway routes /shared/app/ to
// one application and the rest of /shared/ to a hostile one, whose worker
// script at /shared/sw.js names no Service-Worker-Allowed: its directory,
// /shared/, limited its scope, and Chromium registered it there, over the
// other application's paths. Registration for /shared/ now fails; the
// hostile application's worker still registers for a directory of its own.
func TestHostileWorkerDefaultScopeInChromium(t *testing.T) {
	t.Parallel()
	origin, gw := workerHosts(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("app"))
	}, "", "[[routes]]\npath = \"/shared/app/**\"\npublic = true\nupstream = \"app\"\n\n[[routes]]\npath = \"/shared/**\"\npublic = true\nupstream = \"hostile\"\n")
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(origin+"/shared/"), chromedp.WaitVisible("#hostile")); err != nil {
		t.Fatalf("the hostile page: %v\n%s", err, gw.Proc.Output())
	}
	register := func(script, scope string) string {
		got, err := chromedp.Run(step, chromedp.Evaluate[string](`navigator.serviceWorker.register("`+script+`", {scope: "`+scope+`"})
			.then(r => "registered", e => "refused: " + e.name)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		return got
	}
	if got := register("/shared/sw.js", "/shared/"); got != "refused: SecurityError" {
		t.Errorf("the hostile worker over /shared/app/: %q, want refused: SecurityError", got)
	}
	if got := register("/shared/own/sw.js", "/shared/own/"); got != "registered" {
		t.Errorf("the hostile worker for its own directory: %q, want registered", got)
	}
}

// TestHostileWorkerAtItsRouteRootInChromium: a gateway routes /hostile/**,
// which matches /hostile itself, to a hostile application, and
// /hostile-admin/** to another. A worker script at /hostile sits in the
// directory /, which is not the hostile application's, so the gateway
// limited its scope to the script's own path, /hostile: a prefix of
// /hostile-admin/, and Chromium registered the worker for "/hostile", over
// the other application's pages. The limit is now the directory /hostile/,
// which only the hostile application's paths are beneath; its worker still
// registers there.
func TestHostileWorkerAtItsRouteRootInChromium(t *testing.T) {
	t.Parallel()
	origin, gw := workerHosts(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>admin</title><p id="admin">admin</p>`))
	}, "", "[[routes]]\npath = \"/hostile/**\"\npublic = true\nupstream = \"hostile\"\n\n"+
		"[[routes]]\npath = \"/hostile-admin/**\"\npublic = true\nupstream = \"app\"\n")
	ctx := siblingChromium(t)
	step, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(origin+"/hostile/"), chromedp.WaitVisible("#hostile")); err != nil {
		t.Fatalf("the hostile page: %v\n%s", err, gw.Proc.Output())
	}
	register := func(scope string) string {
		got, err := chromedp.Run(step, chromedp.Evaluate[string](`navigator.serviceWorker.register("/hostile?sw", {scope: "`+scope+`"})
			.then(r => "registered", e => "refused: " + e.name)`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("register: %v", err)
		}
		return got
	}
	if got := register("/hostile"); got != "refused: SecurityError" {
		t.Errorf("the hostile worker over /hostile-admin/: %q, want refused: SecurityError", got)
	}
	if got := register("/hostile/"); got != "registered" {
		t.Errorf("the hostile worker for its own directory: %q, want registered", got)
	}
}
