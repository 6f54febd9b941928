package proxy

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestBrandedDeniedPage(t *testing.T) {
	hostile := `Example <script>alert(1)</script> & "Co"`
	f := newFixture(t, func(c *Config) {
		c.Branding = Branding{Name: hostile,
			LogoURL:    mustURL(t, `https://cdn.example.com/logo.png?a=1&b="x"`),
			SupportURL: mustURL(t, "https://help.example.com/portal?q=<x>")}
	})
	cookies := f.cookies(t, f.session())
	resp := f.do(t, "GET", "/denied/report?id=7", nil, withCookies(cookies), browser())
	page := readBody(t, resp)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d:\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		`<title>Access denied · Example &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;</title>`,
		`<strong>Example &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;</strong>`,
		`<img src="https://cdn.example.com/logo.png?a=1&amp;b=%22x%22" alt="">`,
		`<a href="https://help.example.com/portal?q=%3cx%3e">Contact support</a>`,
		`<form method="post" action="/oauth2/sign_out"><button type="submit">Sign out</button></form>`,
		`<button type="submit">Sign in as someone else</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("the organisation name is not escaped:\n%s", page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; img-src https://cdn.example.com" {
		t.Errorf("CSP %q", csp)
	}

	// "Sign in as someone else" signs out, then starts a login that comes
	// back to the refused URL.
	actions := regexp.MustCompile(`action="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(actions) != 2 {
		t.Fatalf("%d forms", len(actions))
	}
	resp = f.do(t, "POST", html.UnescapeString(actions[1][1]), nil, withCookies(cookies), withHeader("Origin", "http://gw.test"))
	start := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(start, "/oauth2/start?") || !clearsSession(resp) {
		t.Fatalf("sign-out: %d to %q, cookies %v", resp.StatusCode, start, resp.Header["Set-Cookie"])
	}
	u, _ := url.Parse(start)
	if rd := u.Query().Get("rd"); rd != "/denied/report?id=7" {
		t.Errorf("login returns to %q", rd)
	}
	resp = f.do(t, "GET", start, nil, browser())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://idp.test/") {
		t.Errorf("start: %d to %q", resp.StatusCode, loc)
	}
}

// clearsSession reports whether resp expires the session cookie.
func clearsSession(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "portcullis" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

func TestPagesWithoutBranding(t *testing.T) {
	f := newFixture(t)
	resp := f.do(t, "GET", "/nothing", nil, browser())
	page := readBody(t, resp)
	if resp.StatusCode != http.StatusNotFound || strings.Contains(page, "<header>") || strings.Contains(page, "<form") ||
		strings.Contains(page, "Contact support") {
		t.Errorf("%d:\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'" {
		t.Errorf("CSP %q", csp)
	}
	// No session, no sign-out buttons on a 403 either.
	resp = f.do(t, "GET", "/denied/x", nil, browser(), withHeader("Authorization", "Bearer nope"))
	if page := readBody(t, resp); strings.Contains(page, "<form") {
		t.Errorf("sign-out offered without a session:\n%s", page)
	}
	// The logo's host goes into img-src: a host CSP reads as a wildcard
	// ("*", "*.example.com": images from every host, every subdomain) or
	// not at all (Unicode) is no logo's origin.
	for _, bad := range []string{"javascript:alert(1)", "//cdn.example.com/x.png", "data:image/png;base64,AAAA",
		"https://*/x.png", "https://*.example.com/x.png", "https://c\u00fcdn.example.com/x.png", "https://cdn.example.com:0443/x.png",
		"https://a!b$(c)+=&/x.png", "http://:80/x.png"} {
		cfg := f.cfg
		cfg.Branding = Branding{LogoURL: mustURL(t, bad)}
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted logo URL %q", bad)
		}
	}
}

// TestForwardAuthDeniedPageReturnsToOriginal: the 403 page of a signed-in
// user refused by forward-auth (which Traefik and Envoy hand to the
// browser) offers "Sign in as someone else", coming back to the original
// request: its query from the forwarded headers, not the subrequest's.
// Envoy's documented path_prefix "/oauth2/auth?" puts the original path
// and query in the subrequest's query; that one was appended to the
// original path.
func TestForwardAuthDeniedPageReturnsToOriginal(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	for _, sub := range []string{"/oauth2/auth", "/oauth2/auth?/denied/report?id=7"} {
		resp := f.do(t, "GET", sub, nil, fromPeer("10.0.0.5:4000"), withCookies(cookies), browser(),
			withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test"),
			withHeader("X-Forwarded-Uri", "/denied/report?id=7"))
		page := readBody(t, resp)
		actions := regexp.MustCompile(`action="([^"]*)"`).FindAllStringSubmatch(page, -1)
		if resp.StatusCode != http.StatusForbidden || len(actions) != 2 {
			t.Fatalf("%s: %d, %d forms:\n%s", sub, resp.StatusCode, len(actions), page)
		}
		signOut, err := url.Parse(html.UnescapeString(actions[1][1]))
		if err != nil {
			t.Fatal(err)
		}
		start, err := url.Parse(signOut.Query().Get("rd"))
		if err != nil {
			t.Fatal(err)
		}
		if rd := start.Query().Get("rd"); rd != "http://app.test/denied/report?id=7" {
			t.Errorf("%s: sign in as someone else returns to %q", sub, rd)
		}
	}
}

// TestRefusedSignOutPageConfirms: a sign-out refused as coming from another
// site or host (here an application's link whose page sends no Referer)
// answers a browser with a page whose one form signs out, to the validated
// rd: its POST from the gateway's own page passes. A return URL the policy
// refuses is not carried over.
func TestRefusedSignOutPageConfirms(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	for _, c := range []struct{ rd, want string }{
		{"http://app.test/bye?a=1&b=2", "/oauth2/sign_out?rd=http%3A//app.test/bye%3Fa%3D1%26b%3D2"},
		{"https://evil.test/", "/oauth2/sign_out?rd=/"},
	} {
		resp := f.do(t, "GET", "/oauth2/sign_out?rd="+url.QueryEscape(c.rd), nil, withCookies(cookies), browser(),
			withHeader("Sec-Fetch-Site", "same-site"), withHeader("Sec-Fetch-Mode", "navigate"))
		page := readBody(t, resp)
		actions := regexp.MustCompile(`action="([^"]*)"`).FindAllStringSubmatch(page, -1)
		if resp.StatusCode != http.StatusForbidden || clearsSession(resp) || len(actions) != 1 {
			t.Fatalf("%d, %d forms, cookies %v:\n%s", resp.StatusCode, len(actions), resp.Header["Set-Cookie"], page)
		}
		if got := html.UnescapeString(actions[0][1]); got != c.want {
			t.Errorf("form action %q, want %q", got, c.want)
		}
		resp = f.do(t, "POST", html.UnescapeString(actions[0][1]), nil, withCookies(cookies),
			withHeader("Origin", "http://gw.test"), withHeader("Sec-Fetch-Site", "same-origin"))
		readBody(t, resp)
		if resp.StatusCode != http.StatusFound || !clearsSession(resp) {
			t.Errorf("the form's sign-out: %d, cookies %v", resp.StatusCode, resp.Header["Set-Cookie"])
		}
	}
}
