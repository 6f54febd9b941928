package proxy

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRedirectValidation(t *testing.T) {
	public, _ := url.Parse("https://example.com")
	p, err := newRedirectPolicy(public, []string{"app.example.org", "api.example.org:8443", "*.example.net",
		"localhost:3000", "*.localhost:3000", "127.0.0.2:3000"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"relative path", "/dash?x=1#top", "/dash?x=1#top"},
		{"root", "/", "/"},
		{"empty", "", "/"},
		{"public origin", "https://example.com/a", "https://example.com/a"},
		{"public origin explicit port", "https://example.com:443/a", "https://example.com:443/a"},
		{"public host other scheme", "http://example.com/a", "/"},
		{"public host other port", "https://example.com:8443/a", "/"},
		{"allowed host", "https://app.example.org/x", "https://app.example.org/x"},
		{"allowed host over http", "http://app.example.org/x", "/"},
		{"allowed host:port over http", "http://api.example.org:8443/x", "/"},
		{"wildcard host over http", "http://a.example.net/", "/"},
		{"loopback over http", "http://localhost:3000/x", "http://localhost:3000/x"},
		{"loopback subdomain over http", "http://app.localhost:3000/x", "http://app.localhost:3000/x"},
		{"loopback address over http", "http://127.0.0.2:3000/x", "http://127.0.0.2:3000/x"},
		{"loopback look-alike over http", "http://localhost.example.net/", "/"},
		{"loopback over https", "https://localhost:3000/x", "https://localhost:3000/x"},
		{"allowed host wrong port", "https://app.example.org:444/x", "/"},
		{"allowed host:port", "https://api.example.org:8443/x", "https://api.example.org:8443/x"},
		{"host:port without port", "https://api.example.org/x", "/"},
		{"wildcard subdomain", "https://a.b.example.net/", "https://a.b.example.net/"},
		{"wildcard apex", "https://example.net/", "/"},
		{"upper-case host", "https://APP.example.org/x", "https://APP.example.org/x"},
		{"scheme-relative", "//evil.com", "/"},
		{"backslash slash", "/\\evil.com", "/"},
		{"encoded tab", "/%09/evil.com", "/"},
		{"encoded newline", "/%0a/evil.com", "/"},
		{"encoded CR", "/x%0D", "/"},
		{"raw tab", "/\t/evil.com", "/"},
		{"raw space", "/ /evil.com", "/"},
		{"opaque https", "https:evil.com", "/"},
		{"one slash", "http:/evil.com", "/"},
		{"userinfo", "https://example.com@evil.com", "/"},
		{"userinfo on allowed", "https://user@app.example.org/", "/"},
		{"prefix trick", "https://evil-example.com", "/"},
		{"suffix trick", "https://example.com.evil.com", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"data", "data:text/html,hi", "/"},
		{"escaped slashes", "\\/\\/evil.com", "/"},
		{"encoded slashes", "/%2F%2Fevil.com", "/"},
		{"encoded backslash", "/%5Cevil.com", "/"},
		{"three slashes", "///evil.com", "/"},
		{"scheme with backslashes", "https:\\\\evil.com", "/"},
		{"relative without slash", "evil.com", "/"},
		{"bad percent", "/a%zz", "/"},
		{"truncated percent", "/a%2", "/"},
		{"ftp", "ftp://example.com/", "/"},
		{"wildcard suffix trick", "https://evilexample.net/", "/"},
		{"escapes in the query", "/app?next=%2Fhome&q=a%20b%5C%0A", "/app?next=%2Fhome&q=a%20b%5C%0A"},
		{"escapes in the fragment", "/app#%2F%2Fx", "/app#%2F%2Fx"},
		{"escapes in an allowed URL's query", "https://app.example.org/x?r=%2F%2Fevil.com", "https://app.example.org/x?r=%2F%2Fevil.com"},
		{"encoded slash before the query", "/%2F%2Fevil.com?x=1", "/"},
		{"encoded question mark is path", "/a%3F%2F%2Fevil.com", "/"},
		{"raw space in the query", "/app?q=a b", "/"},
		{"raw backslash in the query", "/app?q=\\", "/"},
		{"bad percent in the query", "/app?q=%zz", "/app?q=%zz"},
		{"truncated percent in the query", "/app?q=%2", "/app?q=%2"},
		{"percent ending the query", "/app?off=100%", "/app?off=100%"},
		{"bad percent in an allowed URL's query", "https://app.example.org/x?off=100%", "https://app.example.org/x?off=100%"},
		{"bad percent in the fragment", "/app?q=1#%zz", "/"},
		{"bad percent after a query's '#'", "/app#x?q=%zz", "/"},
		{"percent before a control in the query", "/app?q=%\x01", "/"},
		{"bad percent in the path before a query", "/a%zz?q=1", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.validate(tt.in); got != tt.want {
				t.Errorf("validate(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestRedirectValidationOverHTTP: a gateway whose public_url is http (the
// demo, a development set-up) keeps returning to allowed hosts over http.
func TestRedirectValidationOverHTTP(t *testing.T) {
	public, _ := url.Parse("http://example.com")
	p, err := newRedirectPolicy(public, []string{"app.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"http://example.com/a":      "http://example.com/a",
		"https://example.com/a":     "/",
		"http://app.example.org/x":  "http://app.example.org/x",
		"https://app.example.org/x": "https://app.example.org/x",
	} {
		if got := p.validate(in); got != want {
			t.Errorf("validate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHostRule(t *testing.T) {
	// IPv6 literals and ports not in plain decimal could never match a
	// return URL; they are refused, as config's check refuses them.
	for _, bad := range []string{"", "https://x", "*", "*.", "a*.b", "x/y", "u@h", "h:port",
		"[::1]", "::1", "[::1]:8080", "[10.0.0.1]", "h:", "h:0", "h:+443", "h:0443", "h:-1", "h:65536", "*.h:08443"} {
		if _, err := parseHostRule(bad); err == nil {
			t.Errorf("parseHostRule(%q) accepted", bad)
		}
	}
	for _, good := range []string{"h", "h:8443", "*.h", "*.h:443", "10.0.0.1", "10.0.0.1:8080", "H.Example.", "h:65535"} {
		if _, err := parseHostRule(good); err != nil {
			t.Errorf("parseHostRule(%q): %v", good, err)
		}
	}
}

// TestReturnHostByTheHostRule: a return URL's host is read by the Host
// rule that requests are, so a host that rule refuses is no return host,
// even under an allowed wildcard (*.example.com): empty labels, an
// overlong label, an empty port. The sign-out's redirect is observed.
func TestReturnHostByTheHostRule(t *testing.T) {
	f := newFixture(t) // allowed_redirect_hosts: app.test, *.example.com
	for rd, want := range map[string]string{
		"https://a..example.com/x":                              "/",
		"https://.a.example.com/x":                              "/",
		"https://..example.com/x":                               "/",
		"https://a.example.com:/x":                              "/",
		"https://" + strings.Repeat("a", 64) + ".example.com/x": "/",
		"https://A.Example.com./x":                              "https://A.Example.com./x",
		"https://a.example.com/x":                               "https://a.example.com/x",
		"https://a.example.com:443/x":                           "https://a.example.com:443/x",
	} {
		resp := f.do(t, "GET", "/oauth2/sign_out?rd="+url.QueryEscape(rd), nil,
			withCookies(f.cookies(t, f.session())), withHeader("Sec-Fetch-Site", "none"))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != want {
			t.Errorf("sign_out?rd=%s: %d %q, want 302 %q", rd, resp.StatusCode, loc, want)
		}
	}
}
