package proxy

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// startLogin runs a browser request that starts a login and returns the
// state sent to the provider and the cookies the browser keeps.
func startLogin(t *testing.T, f *fixture, target string, opts ...reqOption) (string, []*http.Cookie) {
	t.Helper()
	resp := f.do(t, "GET", target, nil, append([]reqOption{browser()}, opts...)...)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "idp.test" {
		t.Fatalf("Location = %q, want the provider", resp.Header.Get("Location"))
	}
	state := loc.Query().Get("state")
	if state == "" || loc.Query().Get("nonce") == "" {
		t.Fatalf("authorization request lacks state or nonce: %s", loc)
	}
	// A cache that kept this answer would hand its state, nonce and
	// login-state cookie to every browser asking (lua-resty-openidc 1.6.0).
	if cc := resp.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Errorf("the redirect to the provider has Cache-Control %q, want no-store", cc)
	}
	return state, liveCookies(resp)
}

func TestLoginRoundTrip(t *testing.T) {
	f := newFixture(t)
	state, cookies := startLogin(t, f, "/app/reports?tab=2")
	resp := f.do(t, "GET", "/oauth2/callback?code=c0de&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/reports?tab=2" {
		t.Fatalf("callback = %d to %q, want 302 to /app/reports?tab=2; %s", resp.StatusCode, resp.Header.Get("Location"), readBody(t, resp))
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("callback headers: %v", resp.Header)
	}
	if f.prov.lastCode != "c0de" || f.prov.lastVerif == "" || f.prov.lastNonce == "" {
		t.Errorf("exchange got code %q verifier %q nonce %q", f.prov.lastCode, f.prov.lastVerif, f.prov.lastNonce)
	}
	sessionCookies := liveCookies(resp)
	app := f.do(t, "GET", "/app/reports", nil, withCookies(sessionCookies))
	if app.StatusCode != 200 {
		t.Fatalf("request with the new session = %d", app.StatusCode)
	}
	got := f.up.last(t)
	if got.Header.Get("X-Forwarded-User") != "alice" || got.Header.Get("X-Forwarded-Groups") != "admins,staff" {
		t.Errorf("identity headers: %v", got.Header)
	}
	s, err := f.storedSession(sessionCookies)
	if err != nil {
		t.Fatal(err)
	}
	if !s.ExpiresAt.Equal(f.clock.Now().Add(12*time.Hour)) || s.RefreshToken != "rt-1" ||
		strings.Join(s.Identity.Scopes, " ") != "openid email" {
		t.Errorf("session = %+v", s)
	}

	// The state is single-use: replaying the callback fails before any exchange.
	n := f.prov.exchanges.Load()
	replay := f.do(t, "GET", "/oauth2/callback?code=c0de&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	if replay.StatusCode != http.StatusBadRequest || f.prov.exchanges.Load() != n {
		t.Fatalf("replayed state = %d, exchanges %d -> %d", replay.StatusCode, n, f.prov.exchanges.Load())
	}
}

// storedSession is the session the cookies cs carry, as the fixture's store
// keeps it, with its tokens (session.Store.Full).
func (f *fixture) storedSession(cs []*http.Cookie) (*session.Session, error) {
	r := withCookiesRequest(cs)
	s, err := f.store.Load(r)
	if err != nil {
		return nil, err
	}
	return f.store.Full(r, s)
}

func withCookiesRequest(cs []*http.Cookie) *http.Request {
	r, _ := http.NewRequest("GET", "http://gw.test/", nil)
	for _, c := range cs {
		r.AddCookie(c)
	}
	return r
}

func TestStartClearsSessionAndValidatesRD(t *testing.T) {
	f := newFixture(t)
	old := f.cookies(t, f.session())
	for _, tt := range []struct{ rd, want string }{
		{"/x?y=1", "/x?y=1"},
		{"https://evil.test/", "/"},
		{"http://app.test/ok", "http://app.test/ok"},
	} {
		resp := f.do(t, "GET", "/oauth2/start?rd="+url.QueryEscape(tt.rd), nil, withCookies(old))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start = %d", resp.StatusCode)
		}
		if c := responseCookies(resp)["portcullis"]; c == nil || c.MaxAge >= 0 {
			t.Errorf("start did not clear the session cookie: %v", c)
		}
		state, _ := url.Parse(resp.Header.Get("Location"))
		ls, err := f.states.Take(httptestRecorder(), withCookiesRequest(liveCookies(resp)), state.Query().Get("state"))
		if err != nil {
			t.Fatal(err)
		}
		if ls.ReturnURL != tt.want || ls.Verifier == "" {
			t.Errorf("rd %q: return URL %q, want %q", tt.rd, ls.ReturnURL, tt.want)
		}
	}
}

// TestStartFromAnotherSiteKeepsTheSession: a link or redirect from another
// site to start carries the SameSite=Lax session cookie; the sign-in it
// starts must not end the session, or any site could sign users out.
func TestStartFromAnotherSiteKeepsTheSession(t *testing.T) {
	f := newFixture(t)
	old := f.cookies(t, f.session())
	resp := f.do(t, "GET", "/oauth2/start?rd=%2Fx", nil, withCookies(old), browser(),
		withHeader("Sec-Fetch-Site", "cross-site"), withHeader("Sec-Fetch-Mode", "navigate"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start = %d", resp.StatusCode)
	}
	if c := responseCookies(resp)["portcullis"]; c != nil {
		t.Errorf("a cross-site start changed the session cookie: %v", c)
	}
	if r := f.do(t, "GET", "/app/x", nil, withCookies(old)); r.StatusCode != http.StatusOK {
		t.Errorf("the session after a cross-site start: %d", r.StatusCode)
	}
}

func TestCallbackRefusals(t *testing.T) {
	tests := []struct {
		name     string
		issParam bool
		query    func(state string) string
		want     int
		wantBody string
	}{
		{"repeated code", false, func(s string) string { return "code=a&code=b&state=" + s }, 400, "repeats"},
		{"repeated state", false, func(s string) string { return "code=a&state=" + s + "&state=" + s }, 400, "repeats"},
		{"repeated iss", false, func(s string) string { return "code=a&iss=https://idp.test&iss=https://idp.test&state=" + s }, 400, "repeats"},
		{"code with error", false, func(s string) string { return "code=a&error=access_denied&state=" + s }, 400, "both"},
		{"missing state", false, func(s string) string { return "code=a" }, 400, "no state"},
		{"unknown state", false, func(s string) string { return "code=a&state=forged" }, 400, "unknown"},
		{"iss mismatch", false, func(s string) string { return "code=a&iss=https://evil.test&state=" + s }, 400, "another issuer"},
		{"iss missing when advertised", true, func(s string) string { return "code=a&state=" + s }, 400, "issuer"},
		{"provider error escaped", false, func(s string) string {
			return "error=access_denied&error_description=" + url.QueryEscape("<script>x</script>") + "&state=" + s
		}, 403, "&lt;script&gt;"},
		{"provider error with a forged state shows nothing of it", false, func(s string) string {
			return "error=access_denied&error_description=Call+0800-SCAM&state=forged"
		}, 400, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.issParam = tt.issParam
			state, cookies := startLogin(t, f, "/app/")
			resp := f.do(t, "GET", "/oauth2/callback?"+tt.query(url.QueryEscape(state)), nil, withCookies(cookies), browser())
			body := readBody(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d; %s", resp.StatusCode, tt.want, body)
			}
			if !strings.Contains(body, tt.wantBody) || strings.Contains(body, "<script>") || strings.Contains(body, "SCAM") {
				t.Errorf("body does not contain %q or is unescaped: %s", tt.wantBody, body)
			}
			if strings.Contains(body, "http-equiv") || resp.Header.Get("Location") != "" {
				t.Errorf("a failed callback must not redirect")
			}
			if f.prov.exchanges.Load() != 0 {
				t.Errorf("a refused callback reached the token endpoint")
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("callback headers: %v", resp.Header)
			}
		})
	}
}

func TestCallbackIssuerParameterAccepted(t *testing.T) {
	f := newFixture(t)
	f.prov.issParam = true
	state, cookies := startLogin(t, f, "/app/")
	resp := f.do(t, "GET", "/oauth2/callback?code=a&iss="+url.QueryEscape("https://idp.test")+"&state="+state, nil, withCookies(cookies))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want 302: %s", resp.StatusCode, readBody(t, resp))
	}
}

func TestCallbackExchangeFailureMakesNoSession(t *testing.T) {
	f := newFixture(t)
	f.prov.exchangeErr = idp.ErrInvalidToken
	state, cookies := startLogin(t, f, "/app/")
	resp := f.do(t, "GET", "/oauth2/callback?code=a&state="+state, nil, withCookies(cookies), browser())
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status = %d, want 502", resp.StatusCode)
	}
	if c := responseCookies(resp)["portcullis"]; c != nil && c.MaxAge >= 0 {
		t.Fatal("a failed login set a session cookie")
	}
}

// TestCallbackInvalidTokenResponse: a token answer the idp package refused
// (a token with a byte RFC 6749 does not allow) is a 502 page that names
// the provider's answer as invalid, with no session; the page quotes
// nothing of the cause.
func TestCallbackInvalidTokenResponse(t *testing.T) {
	f := newFixture(t)
	f.prov.exchangeErr = fmt.Errorf("idp: code exchange: %w: access_token has the character 0xff at offset 7", idp.ErrInvalidTokenResponse)
	state, cookies := startLogin(t, f, "/app/")
	resp := f.do(t, "GET", "/oauth2/callback?code=a&state="+state, nil, withCookies(cookies), browser())
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "answer to the token request is invalid") ||
		strings.Contains(body, "0xff") {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if c := responseCookies(resp)["portcullis"]; c != nil && c.MaxAge >= 0 {
		t.Fatal("a failed login set a session cookie")
	}
}

func TestProviderNotReady(t *testing.T) {
	f := newFixture(t)
	f.prov.notReady = true
	resp := f.do(t, "GET", "/app/x", nil, browser())
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
}

func TestStepUp(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	// First attempt: back to the provider for granted + missing scopes.
	resp := f.do(t, "GET", "/api/x", nil, browser(), withCookies(cookies))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("step-up = %d, want 302", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got := loc.Query().Get("scope"); got != "openid email api:write" {
		t.Errorf("scope = %q, want the union", got)
	}
	if loc.Query().Get("include_granted_scopes") != "true" {
		t.Errorf("no include_granted_scopes: %s", loc)
	}
	// The provider grants nothing more: the new session remembers the
	// attempt, so the next request is a 403 naming the scope, not a loop.
	state := loc.Query().Get("state")
	cb := f.do(t, "GET", "/oauth2/callback?code=a&state="+state, nil, withCookies(liveCookies(resp)), browser())
	if cb.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d", cb.StatusCode)
	}
	again := f.do(t, "GET", "/api/x", nil, browser(), withCookies(liveCookies(cb)))
	body := readBody(t, again)
	if again.StatusCode != http.StatusForbidden || !strings.Contains(body, "api:write") {
		t.Fatalf("second attempt = %d %s, want 403 naming the scope", again.StatusCode, body)
	}
	// After the window, one more attempt is allowed.
	f.clock.Advance(stepUpWindow + time.Second)
	if later := f.do(t, "GET", "/api/x", nil, browser(), withCookies(liveCookies(cb))); later.StatusCode != http.StatusFound {
		t.Fatalf("after the window = %d, want 302", later.StatusCode)
	}
}

// TestLoginEndsThePreviousSession: a login over an existing session (a
// step-up, or a second login) deletes the old one before issuing the new
// one, so that with a server-side store a copy of the old cookie dies.
func TestLoginEndsThePreviousSession(t *testing.T) {
	first := newFixture(t)
	deleted := &countingStore{Store: first.store}
	f := newFixture(t, func(c *Config) { c.Sessions = deleted })
	old := first.cookies(t, first.session())
	state, stateCookies := startLogin(t, f, "/app/x")
	resp := f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil,
		withCookies(append(old, stateCookies...)), browser())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d", resp.StatusCode)
	}
	if deleted.deletes.Load() != 1 {
		t.Fatalf("Delete called %d times at the callback, want 1", deleted.deletes.Load())
	}
	if s, err := first.store.Load(withCookiesRequest(liveCookies(resp))); err != nil || s.Identity.Subject != "alice" {
		t.Fatalf("the new session does not load: %v", err)
	}
}

// countingStore counts Delete calls of the store it wraps.
type countingStore struct {
	session.Store
	deletes atomic.Int32
}

func (c *countingStore) Delete(w http.ResponseWriter, r *http.Request) error {
	c.deletes.Add(1)
	return c.Store.Delete(w, r)
}

// TestLoginReturnsToTheRequestHost: a login intercepted on another host
// than public_url's returns there when that host is allowed, else to "/".
func TestLoginReturnsToTheRequestHost(t *testing.T) {
	for host, want := range map[string]string{
		"gw.test":       "/app/x?y=1",
		"app.test":      "http://app.test/app/x?y=1",
		"evil.test":     "/",
		"GW.TEST":       "/app/x?y=1",
		"a.example.com": "http://a.example.com/app/x?y=1",
	} {
		t.Run(host, func(t *testing.T) {
			f := newFixture(t)
			target := "/app/x?y=1"
			if !strings.EqualFold(host, "gw.test") {
				// On another host the login starts at public_url's, where
				// the callback can read its host-only login-state cookie.
				resp := f.do(t, "GET", target, nil, browser(), func(r *http.Request) { r.Host = host })
				loc := resp.Header.Get("Location")
				if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://gw.test/oauth2/start?rd=") {
					t.Fatalf("login on %s = %d to %q, want public_url's start", host, resp.StatusCode, loc)
				}
				target = strings.TrimPrefix(loc, "http://gw.test")
			}
			state, cookies := startLogin(t, f, target)
			resp := f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
			if got := resp.Header.Get("Location"); got != want {
				t.Errorf("return URL = %q, want %q", got, want)
			}
		})
	}
}

// TestStartOnPublicHostSpelledOtherwise: start on public_url's own host
// starts the login, however the host is spelt: a public_url naming the
// scheme's default port (browsers then send the Host without it), a client
// or front proxy naming the default port that public_url leaves out, a
// trailing dot, an IPv6 address written otherwise. Compared as strings,
// start sent the browser to public_url's start, which sent it there again:
// a redirect loop, and no sign-in at all.
func TestStartOnPublicHostSpelledOtherwise(t *testing.T) {
	for _, tt := range []struct{ public, host string }{
		{"https://gw.test:443", "gw.test"},
		{"http://gw.test:80", "gw.test"},
		{"http://gw.test", "gw.test:80"},
		{"https://gw.test", "GW.test:443"},
		{"http://gw.test.", "gw.test"},
		{"http://[0:0::1]:8080", "[::1]:8080"},
	} {
		f := newFixture(t, func(c *Config) { c.PublicURL = mustURL(t, tt.public) })
		resp := f.do(t, "GET", "/oauth2/start?rd=%2Fapp%2Fx", nil, withHeader("Accept", "text/html"),
			func(r *http.Request) { r.Host = tt.host })
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Host != "idp.test" {
			t.Errorf("public_url %s, Host %s: start = %d to %q, want the provider", tt.public, tt.host,
				resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// TestReturnURLFragmentCannotBecomePath: escapes are kept in a return URL's
// fragment, but http.Redirect cleans a relative URL's dot-segments up to the
// first "?" only, fragment included: "/#/../%2F%2Fevil.com" left the
// callback as "Location: /%2F%2Fevil.com", an encoded slash (or
// backslash, or CR LF) in the path, which the redirect policy refuses
// there. The Location sent must itself be an acceptable return URL.
func TestReturnURLFragmentCannotBecomePath(t *testing.T) {
	f := newFixture(t)
	for _, rd := range []string{
		"/#/../%2F%2Fevil.com",
		"/#/../%5C%5Cevil.com",
		"/x#/../../%0D%0ASet-Cookie:%20a=b",
		"/#/..//%2Fevil.com?q=1",
	} {
		state, cookies := startLogin(t, f, "/oauth2/start?rd="+url.QueryEscape(rd))
		resp := f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || f.h.redirects.validate(loc) != loc {
			t.Errorf("rd %q: callback = %d to %q, which the redirect policy refuses", rd, resp.StatusCode, loc)
		}
	}
}
