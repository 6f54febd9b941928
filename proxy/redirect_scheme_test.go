package proxy

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// httpsFixture is a gateway whose public_url is https, with a loopback
// development host allowed besides the fixture's.
func httpsFixture(t *testing.T) *fixture {
	return newFixture(t, func(c *Config) {
		c.PublicURL = mustURL(t, "https://gw.test")
		c.AllowedRedirectHosts = append(c.AllowedRedirectHosts, "localhost:3000", "127.0.0.1:3000")
	})
}

// TestHTTPSGatewayReturnsOverHTTPSOnly: with an https public_url, a return
// URL on an allowed host over plain http is refused (the login returns to
// "/"), except on a loopback host: a network attacker who rewrote one
// plain-http link sent the signed-in user to http, where the application's
// own cookies and pages are his to read or change. Every place that
// takes a return URL goes through the one policy: start (on public_url's
// host and on another), the callback, sign_out and signed_out.
func TestHTTPSGatewayReturnsOverHTTPSOnly(t *testing.T) {
	for _, tt := range []struct{ host, rd, want string }{
		{"gw.test", "http://app.test/x", "/"},
		{"gw.test", "http://gw.test/x", "/"},
		{"gw.test", "http://a.example.com/x", "/"},
		{"gw.test", "HTTP://app.test/x", "/"},
		{"gw.test", "https://app.test/x", "https://app.test/x"},
		{"gw.test", "http://localhost:3000/x", "http://localhost:3000/x"},
		{"gw.test", "http://127.0.0.1:3000/x", "http://127.0.0.1:3000/x"},
		// On another host, start goes on to public_url's with rd made
		// absolute over https.
		{"app.test", "http://app.test/x", "https://app.test/"},
		{"app.test", "/x", "https://app.test/x"},
	} {
		f := httpsFixture(t)
		target := "/oauth2/start?rd=" + url.QueryEscape(tt.rd)
		if tt.host != "gw.test" {
			resp := f.do(t, "GET", target, nil, browser(), func(r *http.Request) { r.Host = tt.host })
			target = strings.TrimPrefix(resp.Header.Get("Location"), "https://gw.test")
		}
		state, cookies := startLogin(t, f, target)
		resp := f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || got != tt.want {
			t.Errorf("start on %s with rd %s: callback %d to %q, want %q", tt.host, tt.rd, resp.StatusCode, got, tt.want)
		}
	}
	for _, endSession := range []bool{false, true} {
		f := httpsFixture(t)
		if endSession {
			f.prov.endSession = "https://idp.test/logout"
		}
		resp := f.do(t, "GET", "/oauth2/sign_out?rd="+url.QueryEscape("http://app.test/bye"), nil, withCookies(f.cookies(t, f.session())))
		loc := resp.Header.Get("Location")
		if endSession {
			u, _ := url.Parse(loc)
			resp = f.do(t, "GET", "/oauth2/signed_out?state="+url.QueryEscape(u.Query().Get("state")), nil, withCookies(liveCookies(resp)))
			loc = resp.Header.Get("Location")
		}
		if resp.StatusCode != http.StatusFound || loc != "/" {
			t.Errorf("sign-out (end-session %v) with an http rd: %d to %q, want /", endSession, resp.StatusCode, loc)
		}
	}
}

// TestHTTPSGatewaySignOutRefusesHTTPOrigins: with an https public_url, a
// sign-out whose Origin is an allowed host over plain http is another site
// (a page a network attacker wrote there), so it is refused and ends
// nothing; a loopback development origin still signs out. And a start from
// such an origin does not end the session first.
func TestHTTPSGatewaySignOutRefusesHTTPOrigins(t *testing.T) {
	for _, tt := range []struct {
		origin string
		want   int
	}{
		{"http://app.test", http.StatusForbidden},
		{"http://gw.test", http.StatusForbidden},
		{"http://a.example.com", http.StatusForbidden},
		{"https://app.test", http.StatusFound},
		{"https://gw.test", http.StatusFound},
		{"http://localhost:3000", http.StatusFound},
	} {
		f := httpsFixture(t)
		resp := f.do(t, "POST", "/oauth2/sign_out?rd=%2Fafter", nil, withCookies(f.cookies(t, f.session())),
			withHeader("Origin", tt.origin))
		if resp.StatusCode != tt.want {
			t.Errorf("sign-out from %s = %d, want %d", tt.origin, resp.StatusCode, tt.want)
		}
		if ended := len(f.prov.revoked) != 0; ended != (tt.want == http.StatusFound) {
			t.Errorf("sign-out from %s: session ended = %v", tt.origin, ended)
		}
	}
	f := httpsFixture(t)
	old := f.cookies(t, f.session())
	resp := f.do(t, "GET", "/oauth2/start?rd=%2Fx", nil, withCookies(old), browser(), withHeader("Origin", "http://app.test"))
	if c := responseCookies(resp)["portcullis"]; resp.StatusCode != http.StatusFound || c != nil {
		t.Errorf("start from http://app.test: %d, session cookie %v; want the session kept", resp.StatusCode, c)
	}
}

// TestHTTPSGatewayForwardAuthReturnsOverHTTPS: forward-auth behind a front
// proxy that served the application over plain http. The 401 page's
// sign-in link names the original URL over https, and an rd built from
// the front proxy's own scheme ("http://" + host + X-Auth-Request-Return-Uri,
// as the nginx and Caddy snippets once did) returns to "/".
func TestHTTPSGatewayForwardAuthReturnsOverHTTPS(t *testing.T) {
	f := httpsFixture(t)
	resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), browser(),
		withHeader("X-Forwarded-Proto", "http"), withHeader("X-Forwarded-Host", "app.test"),
		withHeader("X-Forwarded-Uri", "/app/x"))
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `/oauth2/start?rd=https%3A//app.test/app/x"`) {
		t.Fatalf("forward-auth 401 = %d, want a sign-in link to https://app.test/app/x:\n%s", resp.StatusCode, body)
	}
	rd := "http://app.test" + resp.Header.Get("X-Auth-Request-Return-Uri")
	state, cookies := startLogin(t, f, "/oauth2/start?rd="+url.QueryEscape(rd))
	resp = f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	if got := resp.Header.Get("Location"); got != "/" {
		t.Errorf("the snippets' rd %s: callback to %q, want /", rd, got)
	}
}

// TestForwardAuthSnippetsReturnBehindTLSTerminator: nginx and Caddy behind
// a load balancer that terminates TLS see plain http ($scheme, {scheme})
// while the browser and public_url are https. The rd their snippets build
// from a navigation's 401 must still bring the user back to the page he
// asked for, on public_url's host and on another: built from their own
// scheme it was an http rd, which an https gateway turns into "/".
func TestForwardAuthSnippetsReturnBehindTLSTerminator(t *testing.T) {
	snippets := map[string]*regexp.Regexp{
		"nginx.conf": regexp.MustCompile(`return 302 (/oauth2/start\?rd=\S*);`),
		"Caddyfile":  regexp.MustCompile(`redir \* (/oauth2/start\?rd=\S*)`),
	}
	vars := strings.NewReplacer("$scheme", "http", "{scheme}", "http",
		"$http_host", "HOST", "{hostport}", "HOST",
		"$auth_return", "RETURN", "{http.reverse_proxy.header.X-Auth-Request-Return-Uri}", "RETURN")
	for file, re := range snippets {
		b, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", file))
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindSubmatch(b)
		if m == nil {
			t.Fatalf("docs/forward-auth/%s: no redirect to start", file)
		}
		for _, host := range []string{"gw.test", "app.test"} {
			f := httpsFixture(t)
			front := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Proto", "http"),
				withHeader("X-Forwarded-Host", host)}
			resp := f.do(t, "GET", "/oauth2/auth", nil, append(front, browser(), withHeader("X-Forwarded-Uri", "/app/x?q=a&b=c"))...)
			ret := resp.Header.Get("X-Auth-Request-Return-Uri")
			if resp.StatusCode != http.StatusUnauthorized || ret == "" {
				t.Fatalf("forward-auth = %d, X-Auth-Request-Return-Uri %q", resp.StatusCode, ret)
			}
			target := strings.NewReplacer("HOST", host, "RETURN", ret).Replace(vars.Replace(string(m[1])))
			if host != "gw.test" {
				resp = f.do(t, "GET", target, nil, append(front, browser())...)
				target = strings.TrimPrefix(resp.Header.Get("Location"), "https://gw.test")
			}
			state, cookies := startLogin(t, f, target)
			resp = f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
			want := "/app/x?q=a&b=c"
			if host != "gw.test" {
				want = "https://" + host + want
			}
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("%s on %s: %s returns to %q, want %q", file, host, target, got, want)
			}
		}
	}
}
