package proxy

import (
	"crypto/rand"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/session"
)

// TestIdentityAnswersAreNotSharedCacheable: a shared cache in front of the
// gateway (a CDN, a caching reverse proxy) keys on the URL. An application
// that answers a signed-in user with "public", "s-maxage", a
// CDN-Cache-Control, or only a Last-Modified (heuristic freshness: a static
// file server's default, which CDNs cache by file extension) let that cache
// store the protected answer and hand it to the next client asking for the
// URL, signed in or not, without the request reaching the gateway. An
// answer the gateway let through for an identity is made private (the
// browser may keep it); a public route's answer keeps the upstream's
// caching headers.
func TestIdentityAnswersAreNotSharedCacheable(t *testing.T) {
	headers := map[string]map[string]string{
		"/app/public":   {"Cache-Control": "public, max-age=600"},
		"/app/smaxage":  {"Cache-Control": "max-age=10, s-maxage=600"},
		"/app/cdn":      {"Cache-Control": "no-store", "CDN-Cache-Control": "max-age=600", "Surrogate-Control": "max-age=600"},
		"/app/nginx":    {"Cache-Control": "private", "X-Accel-Expires": "600"},
		"/app/static":   {"Last-Modified": "Mon, 02 Jan 2006 15:04:05 GMT"},
		"/app/field":    {"Cache-Control": `private="Set-Cookie, X-Y", max-age=600`},
		"/app/quoted":   {"Cache-Control": `no-cache="no-store, private", public, max-age=600`},
		"/app/private":  {"Cache-Control": "max-age=60, private"},
		"/app/unclosed": {"Cache-Control": `public, max-age=600, x="a`},
		"/public/asset": {"Cache-Control": "public, max-age=600", "CDN-Cache-Control": "max-age=600"},
	}
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers[r.URL.Path] {
			w.Header().Set(k, v)
		}
		_, _ = w.Write([]byte("report for " + r.Header.Get("X-Forwarded-User")))
	})
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	cookies := f.cookies(t, f.session())

	sharedCacheable := func(h http.Header) string {
		for _, k := range []string{"CDN-Cache-Control", "Surrogate-Control", "X-Accel-Expires"} {
			if h.Get(k) != "" {
				return k + ", which a cache obeys before Cache-Control"
			}
		}
		private := false
		for _, d := range cacheDirectives(h.Values("Cache-Control")) {
			name, _, qualified := strings.Cut(d, "=")
			switch strings.ToLower(name) {
			case "public", "s-maxage":
				return "directive " + d
			case "no-store":
				private = true
			case "private":
				private = private || !qualified
			}
		}
		if !private {
			return "no private or no-store: " + strings.Join(h.Values("Cache-Control"), ", ")
		}
		return ""
	}
	for path := range headers {
		if strings.HasPrefix(path, "/public/") {
			continue
		}
		resp := f.do(t, "GET", path, nil, withCookies(cookies))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if why := sharedCacheable(resp.Header); why != "" {
			t.Errorf("GET %s as alice: a shared cache may store the answer (%s)", path, why)
		}
	}
	resp := f.do(t, "GET", "/api/x", nil, withHeader("Authorization", "Bearer tok"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/x with a bearer token = %d", resp.StatusCode)
	}
	resp = f.do(t, "GET", "/app/public", nil, withHeader("Authorization", "Bearer tok"))
	if why := sharedCacheable(resp.Header); resp.StatusCode == http.StatusOK && why != "" {
		t.Errorf("GET /app/public with a bearer token: a shared cache may store the answer (%s)", why)
	}
	// What the application said is kept where it is not about shared caches.
	resp = f.do(t, "GET", "/app/private", nil, withCookies(cookies))
	if got := resp.Header.Get("Cache-Control"); got != "max-age=60, private" {
		t.Errorf("an already private answer's Cache-Control = %q, want it unchanged", got)
	}
	resp = f.do(t, "GET", "/app/smaxage", nil, withCookies(cookies))
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "max-age=10") {
		t.Errorf("Cache-Control = %q, want the browser's max-age=10 kept", got)
	}
	// A public route's answer carries no identity: its caching is the application's.
	resp = f.do(t, "GET", "/public/asset", nil, withCookies(cookies))
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=600" || resp.Header.Get("CDN-Cache-Control") == "" {
		t.Errorf("a public route's caching headers were changed: %v", resp.Header)
	}
}

// TestIdentityPagesAreKeptOutOfHistory: after a sign-out on a shared
// computer, the browser's Back showed the next person a page the signed-in
// user had seen, from the browser's cache or its back/forward cache,
// without asking the gateway (TestBackAfterSignOutInChromium in e2e). A
// page let through for an identity is now no-store whatever the upstream
// said; other answers keep what the upstream said for the browser (made
// private), and a public route's page keeps its caching.
func TestIdentityPagesAreKeptOutOfHistory(t *testing.T) {
	type answer struct{ contentType, cacheControl string }
	answers := map[string]answer{
		"/app/page":     {"text/html; charset=utf-8", ""},
		"/app/cached":   {"text/html", "max-age=600"},
		"/app/shared":   {"TEXT/HTML", "public, max-age=600"},
		"/app/private":  {" text/html;charset=utf-8", "private, max-age=60"},
		"/app/xhtml":    {"application/xhtml+xml", "max-age=600"},
		"/app/data":     {"application/json", "max-age=600"},
		"/app/text":     {"text/plain", ""},
		"/public/about": {"text/html", "public, max-age=600"},
	}
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.URL.Path]
		w.Header().Set("Content-Type", a.contentType)
		if a.cacheControl != "" {
			w.Header().Set("Cache-Control", a.cacheControl)
		}
		w.Header().Set("CDN-Cache-Control", "max-age=600")
		_, _ = w.Write([]byte("for " + r.Header.Get("X-Forwarded-User")))
	})
	cookies := f.cookies(t, f.session())
	want := map[string]string{
		"/app/data":     "private, max-age=600",
		"/app/text":     "private",
		"/public/about": "public, max-age=600",
	}
	for path := range answers {
		resp := f.do(t, "GET", path, nil, withCookies(cookies))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		w, ok := want[path]
		if !ok {
			w = "no-store"
		}
		if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != w {
			t.Errorf("GET %s (%s, %q) as alice: Cache-Control %q, want %q", path, answers[path].contentType, answers[path].cacheControl, cc, w)
		}
		if cdn := resp.Header.Get("CDN-Cache-Control"); (cdn != "") != strings.HasPrefix(path, "/public/") {
			t.Errorf("GET %s as alice: CDN-Cache-Control %q", path, cdn)
		}
	}
}

// appHostFixture is a gateway with public_url on gw.example.com and the
// session cookie shared with example.com's hosts (cookie_domain), as
// docs/configuration.md ("Several hosts behind one gateway") sets it up.
func appHostFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, func(c *Config) {
		useCookieStore(t, c, session.CookieConfig{Name: "portcullis", Domain: "example.com", Lifetime: 12 * time.Hour, Now: c.Now})
		c.PublicURL = mustURL(t, "http://gw.example.com")
	})
}

// browse runs one same-origin browser request through f's handler with the
// cookies jar holds for target, and files the answer's cookies in jar.
func browse(t *testing.T, f *fixture, jar *cookiejar.Jar, target string) *http.Response {
	t.Helper()
	return jarDo(t, f, jar, target, "Sec-Fetch-Site", "same-origin")
}

// TestSignOutOnAnotherHostReturnsToRD: a sign-out on an application's host
// (its own link, or the 403 page's "Sign in as someone else", which posts
// to {prefix}/sign_out on the host it is shown on) through a provider's
// end-session endpoint kept its rd in a login-state cookie on that host,
// which is host-only, while the provider returns to public_url's
// signed_out: the rd was never found, and the browser landed on
// public_url's "/" instead of where the sign-out said (for the 403 page's
// button, a new sign-in).
func TestSignOutOnAnotherHostReturnsToRD(t *testing.T) {
	f := appHostFixture(t)
	f.prov.endSession = "https://idp.test/logout"
	jar, _ := cookiejar.New(nil)
	rec := httptest.NewRecorder()
	if err := f.cfg.Sessions.Save(rec, httptest.NewRequest("GET", "/", nil), f.session()); err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(mustURL(t, "http://gw.example.com/"), rec.Result().Cookies())

	target := "http://app.example.com/oauth2/sign_out?rd=%2Fbye"
	var loc *url.URL
	for range 4 {
		resp := browse(t, f, jar, target)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s = %d", target, resp.StatusCode)
		}
		// Each host the sign-out passes clears its own origin's caches:
		// the application's pages are cached on app.example.com.
		if csd := resp.Header.Get("Clear-Site-Data"); csd != `"cache"` {
			t.Errorf("GET %s: Clear-Site-Data = %q, want \"cache\"", target, csd)
		}
		loc, _ = url.Parse(resp.Header.Get("Location"))
		if loc.Host == "idp.test" {
			break
		}
		target = loc.String()
	}
	if loc.Host != "idp.test" {
		t.Fatalf("the sign-out never reached the provider's end-session endpoint: %s", loc)
	}
	for _, c := range jar.Cookies(mustURL(t, "http://app.example.com/")) {
		if c.Name == "portcullis" {
			t.Errorf("the session cookie is still in the jar after sign-out")
		}
	}
	back := loc.Query().Get("post_logout_redirect_uri") + "?state=" + url.QueryEscape(loc.Query().Get("state"))
	resp := browse(t, f, jar, back)
	if got := resp.Header.Get("Location"); got != "http://app.example.com/bye" {
		t.Errorf("signed_out sent the browser to %q, want the sign-out's rd http://app.example.com/bye", got)
	}
}

// TestUnlabelledPagesAreKeptOutOfHistory: the browser decides what a page
// is, not the upstream's first Content-Type line. An upstream answer with
// no Content-Type reaches the browser without one, and the browser sniffs
// the body (<!doctype html> makes it a page), and of several Content-Type
// lines, or types on one line, browsers take the last: each reached the
// browser as HTML only an identity could obtain, kept in its cache and its
// back/forward cache for the next person at the computer. So did a
// Content-Type a browser cannot read, or reads as unknown (empty, "html",
// */*, application/unknown, a quoted comma hiding the only valid type): it
// sniffs the body, and <!doctype html> makes it a page. A redirect with a
// Location is followed, never shown, and keeps its directives (made
// private); one without a Location shows its body. A 304 or 204
// without a Content-Type has no body to show and keeps the upstream's
// directives (made private): revalidating a script or an image must not
// drop it from the browser's cache. Served by a real server: a
// ResponseRecorder does not sniff after WriteHeader.
func TestUnlabelledPagesAreKeptOutOfHistory(t *testing.T) {
	f := newFixtureWith(t, unlabelledPagesApp)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	cookies := f.cookies(t, f.session())
	for path, want := range map[string]string{
		"/app/bare":               "no-store",
		"/app/two-lines":          "no-store",
		"/app/one-line-two-types": "no-store",
		"/app/empty-type":         "no-store",
		"/app/not-a-type":         "no-store",
		"/app/unknown-type":       "no-store",
		"/app/any-type":           "no-store",
		"/app/quoted-comma":       "no-store",
		"/app/script":             "private, max-age=600",
		"/app/moved":              "private, max-age=600",
		"/app/moved-nowhere":      "no-store",
		"/app/not-modified":       "private, max-age=600",
		"/app/no-content":         "private, max-age=600",
	} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "gw.test"
		withCookies(cookies)(req)
		resp, err := srv.Client().Transport.RoundTrip(req) // a redirect is not followed
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != want {
			t.Errorf("GET %s as alice (%d, Content-Type %q): Cache-Control %q, want %q",
				path, resp.StatusCode, resp.Header.Values("Content-Type"), cc, want)
		}
		if _, labelled := resp.Header["Content-Type"]; path == "/app/bare" && labelled {
			t.Errorf("GET %s: Content-Type %q, want none, as the upstream sent it", path, resp.Header["Content-Type"])
		}
	}
}

// unlabelledPagesApp is TestUnlabelledPagesAreKeptOutOfHistory's upstream:
// a page under each path's Content-Type, status and Location.
func unlabelledPagesApp(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=600")
	switch r.URL.Path {
	case "/app/bare":
		w.Header()["Content-Type"] = nil // sent without one
	case "/app/two-lines":
		w.Header()["Content-Type"] = []string{"text/plain", "text/html"}
	case "/app/one-line-two-types":
		w.Header()["Content-Type"] = []string{"text/plain, text/html"}
	case "/app/empty-type":
		w.Header()["Content-Type"] = []string{""}
	case "/app/not-a-type":
		w.Header()["Content-Type"] = []string{"html"}
	case "/app/unknown-type":
		w.Header()["Content-Type"] = []string{"application/unknown"}
	case "/app/any-type":
		w.Header()["Content-Type"] = []string{"*/*"}
	case "/app/quoted-comma":
		w.Header()["Content-Type"] = []string{`html;x=",text/css;"`}
	case "/app/script":
		w.Header()["Content-Type"] = []string{"text/javascript"}
	case "/app/moved":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Location", "/app/new")
		w.WriteHeader(http.StatusMovedPermanently)
	case "/app/moved-nowhere":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusFound)
	case "/app/not-modified":
		w.WriteHeader(http.StatusNotModified)
		return
	case "/app/no-content":
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_, _ = w.Write([]byte("<!doctype html><title>for " + r.Header.Get("X-Forwarded-User") + "</title>"))
}

// useCookieStore gives c a cookie store and login states of cc, sealed
// with a fresh random secret.
func useCookieStore(tb testing.TB, c *Config, cc session.CookieConfig) {
	tb.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cc.Secrets = [][]byte{secret}
	store, err := session.NewCookieStore(cc)
	if err != nil {
		tb.Fatal(err)
	}
	states, err := session.NewStateCookies(cc)
	if err != nil {
		tb.Fatal(err)
	}
	c.Sessions, c.LoginStates = store, states
}
