package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAppRedirectKeepsItsCaching: an application's redirect on a signed-in
// route (a framework's permanent /old -> /new, Go's http.Redirect with its
// small text/html body) keeps the application's caching, made private and
// keyed on the credentials like the application's other non-page answers.
// It was Cache-Control: no-store, as a page, though a browser follows a
// redirect and never shows or keeps it in its history: Chromium asked the
// application for /app/old on every visit through the gateway, and once
// directly.
func TestAppRedirectKeepsItsCaching(t *testing.T) {
	t.Parallel()
	var old atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/old"):
			old.Add(1)
			http.Redirect(w, r, "new", http.StatusMovedPermanently)
		case strings.HasSuffix(r.URL.Path, "/lang"):
			w.Header().Set("Cache-Control", "max-age=600")
			http.Redirect(w, r, "/app/en/", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<p>page " + r.URL.Path + "</p>"))
		}
	}))
	t.Cleanup(app.Close)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "", "[[routes]]\npath = \"/**\"\n"))
	c := browser(t)
	if status, _, _ := get(t, c, gw.URL+"/app/home"); status != http.StatusOK {
		t.Fatalf("sign-in: %d", status)
	}
	ck := sessionCookie(t, c, gw)
	for path, want := range map[string]string{"/app/old": "private", "/app/lang": "private, max-age=600"} {
		req, _ := http.NewRequest("GET", gw.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		resp, err := clientTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cc, vary := resp.Header.Values("Cache-Control"), strings.Join(resp.Header.Values("Vary"), ", ")
		if resp.StatusCode/100 != 3 || len(cc) != 1 || cc[0] != want || !strings.Contains(vary, "Cookie, Authorization") {
			t.Errorf("GET %s: %d, Cache-Control %q, Vary %q; want %q and Vary: Cookie, Authorization",
				path, resp.StatusCode, cc, vary, want)
		}
	}
	redirectsInChromium(t, gw, app.URL, &old)
}

// redirectsInChromium visits /app/old three times, directly and through
// the gateway (signing in on the way), and counts the application's
// redirects: once each, the browser's cache following the others.
func redirectsInChromium(t *testing.T, gw *gateway, app string, old *atomic.Int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	defer cancel()
	for _, base := range []string{app, gw.URL} {
		old.Store(0)
		for range 3 {
			if s := open(t, ctx, base+"/app/old"); s.URL != base+"/app/new" {
				t.Fatalf("Chromium at %s/app/old landed on %s (%q)", base, s.URL, s.Text)
			}
			open(t, ctx, base+"/app/other")
		}
		if n := old.Load(); n != 1 {
			t.Errorf("%s: Chromium asked the application for /app/old %d times in 3 visits, want 1 (its 301 cached)", base, n)
		}
	}
}
