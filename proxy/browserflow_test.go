package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/session"
)

// guidGroups returns n group names as Azure AD / Entra ID puts them in its
// groups claim: object IDs (GUIDs), which compress poorly.
func guidGroups(n int) []string {
	var gs []string
	for range n {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		h := hex.EncodeToString(b)
		gs = append(gs, h[:8]+"-"+h[8:12]+"-"+h[12:16]+"-"+h[16:20]+"-"+h[20:])
	}
	return gs
}

// jwtWithGroups is a JWT-shaped token whose payload carries the groups, as
// Entra ID's ID and access tokens do (up to 200 groups before overage).
func jwtWithGroups(gs []string) string {
	payload, _ := json.Marshal(map[string]any{"sub": "alice", "groups": gs, "iss": "https://idp.test"})
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(sig)
}

func cookieHeaderBytes(cs []*http.Cookie) int {
	n := 0
	for _, c := range cs {
		n += len(c.Name) + len(c.Value) + 3
	}
	return n
}

// TestOversizedCookieSessionIsRefusedAtSave: the gateway refuses every
// request whose Cookie header is over 16 KiB (431). A user with 200 GUID
// groups (Entra ID puts up to 200 in its tokens) would get, from a cookie
// store that saved up to 10 chunks, a session no later request can carry,
// and be locked out (sign_out included) until its lifetime ends. The
// callback refuses such a session (a sign-in error page, no cookie), or
// else the 431 must expire the session's cookies.
func TestOversizedCookieSessionIsRefusedAtSave(t *testing.T) {
	f := newFixture(t)
	gs := guidGroups(200)
	tok := jwtWithGroups(gs)
	f.prov.identity.Groups = gs
	f.prov.identity.Claims = map[string]any{"sub": "alice", "groups": gs}
	f.prov.tokens.IDToken, f.prov.tokens.AccessToken = tok, tok

	state, stateCookies := startLogin(t, f, "/app/x")
	cb := f.do(t, "GET", "/oauth2/callback?code=c&state="+url.QueryEscape(state), nil, withCookies(stateCookies), browser())
	sess := liveCookies(cb)
	if cb.StatusCode != http.StatusFound || len(sess) == 0 {
		// Refused at the callback: the user sees why, and is not stuck.
		if body := readBody(t, cb); cb.StatusCode != http.StatusInternalServerError || len(sess) != 0 ||
			!strings.Contains(body, "Redis session store") {
			t.Errorf("callback = %d with %d session cookies, want 500 naming the Redis session store:\n%s",
				cb.StatusCode, len(sess), body)
		}
		return
	}
	t.Logf("callback: %d, %d session cookies, %d bytes in a Cookie header (limit %d)",
		cb.StatusCode, len(sess), cookieHeaderBytes(sess), maxCookieBytes)

	for _, target := range []string{"/app/x", "/oauth2/sign_out?rd=%2F", "/oauth2/start?rd=%2F"} {
		resp := f.do(t, "GET", target, nil, withCookies(sess), browser(), withHeader("Sec-Fetch-Site", "same-origin"))
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			continue
		}
		cleared := false
		if c := responseCookies(resp)["portcullis"]; c != nil && c.MaxAge < 0 {
			cleared = true
		}
		if !cleared {
			t.Errorf("GET %s with the session the callback just issued: 431, and the session cookies stay: the browser is locked out until the session's lifetime ends", target)
		}
	}
}

// jarDo runs one request through f's handler as a browser with jar would
// send it: the cookies the jar holds for target's host, and the response's
// cookies filed under that host. header are further request headers, as
// name, value pairs.
func jarDo(t *testing.T, f *fixture, jar *cookiejar.Jar, target string, header ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("Accept", "text/html")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	for _, c := range jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	resp := rec.Result()
	jar.SetCookies(r.URL, resp.Cookies())
	return resp
}

// TestLoginStartedOnAnotherHostCompletes: docs/configuration.md
// ("Several hosts behind one gateway") says a login started on a host other
// than public_url's returns to that host, with cookie_domain set to the
// parent domain. The login-state cookie is host-only, so it must be set on
// public_url's host, whose callback reads it: set on the host the login
// started on (app.example.com), the callback (gw.example.com) never
// received it and every such login ended "unknown, expired or already
// used". A real cookie jar carries the cookies here.
func TestLoginStartedOnAnotherHostCompletes(t *testing.T) {
	for _, tt := range []struct{ start, back string }{
		{start: "http://app.example.com/app/x", back: "http://app.example.com/app/x"},
		// A sign-in link or the 403 page's button: start itself on the app's host.
		{start: "http://app.example.com/oauth2/start?rd=%2Fapp%2Fx%3Fnext%3D%252Fhome%26q%3Da%2520b",
			back: "http://app.example.com/app/x?next=%2Fhome&q=a%20b"},
	} {
		if got := loginOnAppHost(t, tt.start); got != tt.back {
			t.Errorf("started at %s: the callback went to %q, want %q", tt.start, got, tt.back)
		}
	}
}

// loginOnAppHost follows a browser from start (on app.example.com, with
// public_url on gw.example.com and a cookie_domain) to the provider and
// back to the callback, and returns where the callback sends it.
func loginOnAppHost(t *testing.T, start string) string {
	t.Helper()
	f := newFixture(t, func(c *Config) {
		useCookieStore(t, c, session.CookieConfig{Name: "portcullis", Domain: "example.com", Lifetime: 12 * time.Hour, Now: c.Now})
		c.PublicURL = mustURL(t, "http://gw.example.com")
	})
	jar, _ := cookiejar.New(nil)

	// Follow the gateway's own redirects until the provider's.
	target := start
	var loc *url.URL
	for range 4 {
		resp := jarDo(t, f, jar, target)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s = %d", target, resp.StatusCode)
		}
		loc, _ = url.Parse(resp.Header.Get("Location"))
		if loc.Host == "idp.test" {
			break
		}
		target = loc.String()
	}
	state := loc.Query().Get("state")
	// The provider redirects to public_url + /oauth2/callback.
	cb := jarDo(t, f, jar, "http://gw.example.com/oauth2/callback?code=c&state="+url.QueryEscape(state))
	if cb.StatusCode != http.StatusFound {
		body := readBody(t, cb)
		if i := strings.Index(body, "<p>"); i >= 0 {
			body = body[i:min(len(body), i+80)]
		}
		t.Fatalf("callback on public_url's host = %d (%s), want 302", cb.StatusCode, body)
	}
	return cb.Header.Get("Location")
}

// TestSignOutStateIsNotALoginState: sign_out keeps the state it sends to
// the end-session endpoint in the same jar, under the same cookie naming,
// as login states, but with no PKCE verifier and no nonce. The callback
// must refuse it before any token request: accepted, it redeemed a code
// with an empty code_verifier, and only the ID token's nonce check stopped
// the login after the code was spent.
func TestSignOutStateIsNotALoginState(t *testing.T) {
	f := newFixture(t)
	f.prov.endSession = "https://idp.test/logout"
	resp := f.do(t, "GET", "/oauth2/sign_out?rd=%2F", nil, withCookies(f.cookies(t, f.session())),
		withHeader("Sec-Fetch-Site", "same-origin"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	if resp.StatusCode != http.StatusFound || state == "" {
		t.Fatalf("sign_out = %d %q", resp.StatusCode, loc)
	}
	// The provider's logout page never sends the browser back (the user
	// closes it): the sign-out state cookie stays for 10 minutes.
	cb := f.do(t, "GET", "/oauth2/callback?code=someone-elses-code&state="+url.QueryEscape(state), nil,
		withCookies(liveCookies(resp)), browser())
	if n := f.prov.exchanges.Load(); n != 0 {
		t.Errorf("a sign-out state was accepted at the callback: the code was redeemed with verifier %q and nonce %q (callback %d)",
			f.prov.lastVerif, f.prov.lastNonce, cb.StatusCode)
	}
}

// TestStepUpOnAnotherHostIsRefusedPlainly: an incremental authorization
// started on a host other than public_url's would set its host-only
// login-state cookie where the callback never reads it, and end on an
// "unknown sign-in" page. The browser gets the 403 naming the missing scope.
func TestStepUpOnAnotherHostIsRefusedPlainly(t *testing.T) {
	f := newFixture(t)
	alice := f.cookies(t, f.session())
	resp := f.do(t, "GET", "/x", nil, withCookies(alice), browser(), func(r *http.Request) { r.Host = "other.test" })
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "other") {
		t.Errorf("step-up on other.test = %d to %q, want 403 naming the scope", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = f.do(t, "GET", "/api/x", nil, withCookies(alice), browser())
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "https://idp.test/") {
		t.Errorf("step-up on public_url's host = %d to %q, want 302 to the provider", resp.StatusCode, loc)
	}
}
