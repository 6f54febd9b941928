package proxy

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/policy"
)

// fuzzEnv is the whole gateway as the handler fuzz targets drive it: the
// fixture's handler, cookie store and recording upstream, with a real
// provider (internal/oidctest) behind the idp client, a signed-in session
// cookie of alice and a bearer token of bob that the fuzzer can send.
type fuzzEnv struct {
	*fixture
	sessionCookie string               // "name=value; ..." of alice's session
	cookieValues  []string             // the session cookies' values
	bearer        string               // bob's access token
	alice, bob    *portcullis.Identity // as the gateway decided them
	baseline      map[string]http.Header
	providerHost  string
}

// identityNames are the upstream identity headers of the fixture.
var identityNames = []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups",
	"X-Forwarded-Preferred-Username", "X-Forwarded-Tenant"}

func newFuzzEnv(tb testing.TB) *fuzzEnv {
	tb.Helper()
	// The provider, the idp client and the gateway share the fixture's clock.
	e := &fuzzEnv{baseline: map[string]http.Header{}}
	now := func() time.Time { return e.clock.Now() }
	p := oidctest.New(tb, oidctest.Options{JWTAccessTokens: true, Now: now})
	client, err := idp.New(idp.Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: "http://gw.test/oauth2/callback", HeaderClaims: []string{"tenant"}, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	if err := client.Discover(context.Background()); err != nil {
		tb.Fatal(err)
	}
	e.fixture = newFixture(tb, func(c *Config) { c.Provider = client })
	e.providerHost = strings.TrimPrefix(p.Issuer, "http://")
	s := e.session()
	s.Identity = portcullis.Identity{Subject: "alice", Email: "alice@example.com", EmailVerified: true,
		Groups: []string{"admins"}, PreferredUsername: "alice", Scopes: []string{"openid", "email"}}
	e.alice = &s.Identity
	var parts []string
	for _, c := range e.cookies(tb, s) {
		parts = append(parts, c.Name+"="+c.Value)
		e.cookieValues = append(e.cookieValues, c.Value)
	}
	e.sessionCookie = strings.Join(parts, "; ")
	e.bearer = p.AccessToken("bob", map[string]any{"scope": "api:write other", "email": "bob@example.com",
		"email_verified": true, "groups": []string{"staff"}, "preferred_username": "bob"})
	if e.bob, err = client.VerifyBearer(context.Background(), e.bearer); err != nil {
		tb.Fatal(err)
	}
	// What a clean request of each identity carries upstream.
	for who, h := range map[string][2]string{"alice": {"Cookie", e.sessionCookie}, "bob": {"Authorization", "Bearer " + e.bearer}} {
		before := e.up.count()
		resp := e.do(tb, "GET", "/app/x", nil, withHeader(h[0], h[1]))
		if resp.StatusCode != http.StatusOK || e.up.count() != before+1 {
			tb.Fatalf("%s's clean request: %d", who, resp.StatusCode)
		}
		e.baseline[who] = e.up.last(tb).Header
	}
	return e
}

// fuzzHeaders are the headers the fuzzer picks from (bit i of sel adds
// the i-th), with the fuzzed value v where they take one.
func (e *fuzzEnv) fuzzHeaders(v string) [][2]string {
	return [][2]string{
		{"X-Forwarded-User", v}, {"X-Forwarded-Email", v}, {"X-Forwarded-Groups", v},
		{"X-Portcullis-Jwt-Assertion", v}, {"X-Forwarded-Host", v}, {"X-Forwarded-Uri", v},
		{"X-Forwarded-Method", v}, {"X-Forwarded-Proto", v}, {"X-Forwarded-For", v},
		{"Cookie", e.sessionCookie}, {"Cookie", "portcullis=" + v}, {"Cookie", "other=" + v},
		{"Authorization", "Bearer " + e.bearer}, {"Authorization", v},
		{"Sec-Fetch-Mode", v}, {"Sec-Fetch-Site", v}, {"Accept", "text/html"}, {"Accept", v},
		{"Origin", v}, {"Referer", v}, {"X-Original-URL", v}, {"X-Auth-Request-User", v},
		{"X-Forwarded-Tenant", v}, {"X-HTTP-Method-Override", v}, {"Forwarded", v},
		{"X_Forwarded_User", v}, {"Sec-Fetch-Dest", v}, {"Sec-Fetch-Mode", "navigate"},
		{"X-Original-Method", v}, {"Content-Type", "application/x-www-form-urlencoded"},
		{"Cookie", fuzzCookieList},
	}
}

// trustedBit of sel makes the peer a trusted proxy.
const trustedBit = 1 << 31

// build reads the request from the wire as Go's server does, or reports
// that the server would not hand it to a handler.
func (e *fuzzEnv) build(method, target, host string, sel uint32, v string, body []byte) (*http.Request, bool) {
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for i, h := range e.fuzzHeaders(v) {
		if sel&(1<<i) != 0 {
			b.WriteString(h[0] + ": " + h[1] + "\r\n")
		}
	}
	if len(body) > 0 {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(b.String())))
	if err != nil || !httpguts.ValidHostHeader(r.Host) || len(r.Header["Host"]) > 0 {
		return nil, false
	}
	for k, vs := range r.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return nil, false
		}
		for _, x := range vs {
			if !httpguts.ValidHeaderFieldValue(x) {
				return nil, false
			}
		}
	}
	r.RemoteAddr = "192.0.2.7:5555"
	if sel&trustedBit != 0 {
		r.RemoteAddr = "10.0.0.1:5555"
	}
	return r, true
}

// decidedIdentity is the identity the request presents, as the documented
// order takes it: a bearer token, else the session cookie (an Authorization
// of another scheme is not a bearer token); ok is false for an invalid
// bearer token (a 401, never the cookie).
func (e *fuzzEnv) decidedIdentity(r *http.Request) (who string, id *portcullis.Identity, ok bool) {
	a := r.Header.Values("Authorization")
	for _, v := range a {
		if len(v) < 6 || !strings.EqualFold(v[:6], "bearer") {
			continue // another scheme: the cookie decides (docs/requests.md)
		}
		if len(a) == 1 && strings.HasPrefix(v[6:], " ") && strings.TrimLeft(v[6:], " ") == e.bearer {
			return "bob", e.bob, true
		}
		return "", nil, false
	}
	for _, c := range r.Cookies() {
		if e.store.Owns(c.Name) && slices.Contains(e.cookieValues, c.Value) {
			return "alice", e.alice, true
		}
	}
	return "", nil, true
}

// secrets are the values no answer may contain: the token, the session
// cookies and the fuzzed value where it was sent as a credential.
func (e *fuzzEnv) secrets(sel uint32, v string) []string {
	out := append([]string{e.bearer}, e.cookieValues...)
	creds := 1<<10 | 1<<13 // portcullis=v, Authorization: v
	if sel&uint32(creds) != 0 && len(v) >= 8 {
		out = append(out, v)
	}
	return out
}

// checkAnswer: an answer's body holds no secret and no input that could
// be markup, and a redirect goes to a relative URL, an allowed host or the
// provider.
func (e *fuzzEnv) checkAnswer(t *testing.T, resp *http.Response, body string, secrets, inputs []string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(body, s) {
			t.Fatalf("%d answer's body contains a secret %.20q...: %q", resp.StatusCode, s, body)
		}
		for _, c := range resp.Cookies() {
			if s != "" && c.Value == s {
				t.Fatalf("%d answer sets a cookie to a client's secret", resp.StatusCode)
			}
		}
	}
	if resp.StatusCode >= 400 {
		for _, in := range inputs {
			if len(in) >= 4 && strings.ContainsAny(in, `<"`) && strings.Contains(body, in) {
				t.Fatalf("%d answer echoes %q unescaped: %q", resp.StatusCode, in, body)
			}
		}
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		e.checkLocation(t, loc)
	}
}

func (e *fuzzEnv) checkLocation(t *testing.T, loc string) {
	t.Helper()
	if strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, `/\`) {
		return
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		t.Fatalf("redirect to %q", loc)
	}
	h := strings.ToLower(u.Host)
	if h != "gw.test" && h != "app.test" && h != e.providerHost && !strings.HasSuffix(h, ".example.com") {
		t.Fatalf("redirect to %q: not an allowed host", loc)
	}
}

// checkForwarded: the upstream got exactly the decided request.
func (e *fuzzEnv) checkForwarded(t *testing.T, r *http.Request, host Host, path string, got recorded) {
	t.Helper()
	sent, _, _ := strings.Cut(got.RequestURI, "?")
	if sent != path {
		t.Fatalf("upstream got path %q, decided %q", sent, path)
	}
	route := e.cfg.Routes.Match(r.Method, host.Name, path)
	if route == nil {
		t.Fatalf("forwarded %s %s %s, which no route matches", r.Method, host, path)
	}
	// A public route reads no credentials and forwards them as they are
	// (docs/requests.md, tokens in URLs); any other needs a valid one.
	who, id, ok := e.decidedIdentity(r)
	if route.Public {
		who = ""
	} else if !ok {
		t.Fatalf("forwarded %s to route %s with an invalid Authorization", path, route.Key())
	} else if d := route.Evaluate(id); d.Outcome != portcullis.OutcomeAllow {
		t.Fatalf("forwarded %s %s as %q: route %s says %v", r.Method, path, who, route.Key(), d.Outcome)
	}
	for _, name := range identityNames {
		want := http.Header{}
		if who != "" {
			want = e.baseline[who]
		}
		if g, w := got.Header.Values(name), want.Values(name); !slices.Equal(g, w) {
			t.Fatalf("upstream got %s %q as %q, want %q", name, g, who, w)
		}
	}
	if a := got.Header.Values("X-Portcullis-Jwt-Assertion"); (who == "") != (len(a) == 0) || len(a) > 1 {
		t.Fatalf("upstream got assertion %q as %q", a, who)
	}
	for _, c := range (&http.Request{Header: http.Header{"Cookie": got.Header.Values("Cookie")}}).Cookies() {
		if e.store.Owns(c.Name) || e.states.Owns(c.Name) {
			t.Fatalf("upstream got the gateway's cookie %s", c.Name)
		}
	}
	for name := range got.Header {
		setByGateway := slices.Contains(identityNames, name) || name == "X-Portcullis-Jwt-Assertion" ||
			name == "X-Forwarded-For" || name == "X-Forwarded-Proto" || name == "X-Forwarded-Host"
		folded := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		if slices.Contains(strippedNames, folded) && !setByGateway {
			t.Fatalf("upstream got the stripped header %s", name)
		}
	}
}

// strippedNames are the headers docs/requests.md removes from every
// request, lower-cased, written out here rather than read from the code
// that strips them.
var strippedNames = []string{"x-forwarded-user", "x-forwarded-email", "x-forwarded-groups",
	"x-forwarded-preferred-username", "x-forwarded-tenant", "x-portcullis-jwt-assertion",
	"x-auth-request-user", "forwarded", "x-forwarded-prefix", "x-forwarded-port", "x-forwarded-uri",
	"x-original-url", "x-original-uri", "x-rewrite-url", "x-http-method-override", "x-http-method",
	"x-method-override", "x-forwarded-method", "x-original-method", "x-forwarded-for",
	"x-forwarded-proto", "x-forwarded-host"}

var proxyStatuses = []int{200, 302, 400, 401, 403, 404, 405, 408, 413, 415, 431, 502, 503}

// FuzzHandlerProxy serves fuzzed requests in proxy mode and checks the
// invariants of docs/requests.md on each answer and on what the upstream
// received.
func FuzzHandlerProxy(f *testing.F) {
	for _, s := range []struct {
		m, t, h string
		sel     uint32
		v       string
	}{
		{"GET", "/app/x", "gw.test", 1 << 9, ""},
		{"GET", "/admin/a/../b", "gw.test", 1<<9 | 1<<0 | 1<<2, "root"},
		{"POST", "/api/x?a=1", "gw.test", 1 << 12, "x"},
		{"GET", "/app/%2e%2e/admin/", "gw.test", 1<<12 | 1<<9, ""},
		{"GET", "/app/<script>", "gw.test", 1<<16 | 1<<19, `"><script>alert(1)</script>`},
		{"GET", "http://other.test/x", "other.test", 1<<12 | 1<<4 | trustedBit, "other.test"},
		{"GET", "/public/x", "gw.test", 1<<0 | 1<<3 | 1<<10 | 1<<25, "alice"},
		{"GET", "/oauth2/start?rd=//evil.com", "gw.test", 1 << 16, ""},
		{"POST", "/oauth2/sign_out?rd=https://evil.com", "gw.test", 1<<9 | 1<<18, "https://evil.com"},
		{"GET", "/app//x/./y", "GW.TEST.", 1<<13 | 1<<9, "Bearer <x>"},
	} {
		f.Add(s.m, s.t, s.h, s.sel, s.v, []byte(nil))
	}
	// Each listed header alone, on a public route and signed in: a random
	// selection holds a dozen, which most often conflict into a 400.
	for i := range len((&fuzzEnv{}).fuzzHeaders("")) {
		f.Add("GET", "/public/x", "gw.test", uint32(1)<<i, "evil", []byte(nil))
		f.Add("GET", "/app/x", "gw.test", uint32(1)<<9|uint32(1)<<i, "evil", []byte(nil))
	}
	addSignOutSeeds(f)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, method, target, host string, sel uint32, v string, body []byte) {
		r, ok := e.build(method, target, host, sel, v, body)
		if !ok {
			return
		}
		trusted := sel&trustedBit != 0
		path, perr := policy.NormalizeURL(r.URL)
		decidedHost, herr := requestHost(r.Clone(context.Background()), trusted)
		probe := r.Clone(context.Background())
		before := e.up.count()
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		resp := rec.Result()
		if !slices.Contains(proxyStatuses, resp.StatusCode) {
			t.Fatalf("%s %q: status %d", method, target, resp.StatusCode)
		}
		e.checkAnswer(t, resp, rec.Body.String(), e.secrets(sel, v), []string{v, target, host})
		if (path == "/oauth2/sign_out" || path == "/oauth2/start") && endsSession(resp) {
			checkSignOutAllowed(t, probe, decidedHost.String())
		}
		if e.up.count() == before {
			return
		}
		if perr != nil || herr != nil {
			t.Fatalf("forwarded %q (host %q) whose path or host the gateway refuses: %v %v", target, host, perr, herr)
		}
		e.checkForwarded(t, probe, decidedHost, path, e.up.last(t))
	})
}

var authStatuses = []int{200, 400, 401, 403, 405, 431, 503}

// FuzzHandlerForwardAuth serves fuzzed subrequests to the forward-auth
// endpoint, from a trusted and an untrusted peer, and checks that a 200
// answers only a request the decided route allows for that identity.
func FuzzHandlerForwardAuth(f *testing.F) {
	for _, s := range []struct {
		fm, fu, fh string
		sel        uint32
		v          string
	}{
		{"GET", "/app/x", "gw.test", 1<<9 | trustedBit, ""},
		{"POST", "/api/x?_method=DELETE", "gw.test", 1<<12 | trustedBit, ""},
		{"", "/admin/", "gw.test", 1<<9 | trustedBit, ""},
		{"GET", "/admin/../public/x", "gw.test", 1<<9 | 1<<20, "http://gw.test/admin/x"},
		{"GET", "/x", "other.test", 1<<12 | 1<<20 | trustedBit, "http://other.test/x"},
		{"GET", "/app/<b>", "gw.test", 1<<16 | 1<<19 | trustedBit, `"><img src=x>`},
		{"DELETE", "/api/x", "app.test", 1<<13 | trustedBit, "Bearer abcdefgh"},
	} {
		f.Add("GET", s.fm, s.fu, s.fh, s.sel, s.v)
	}
	for i := range len((&fuzzEnv{}).fuzzHeaders("")) {
		f.Add("GET", "GET", "/app/x", "gw.test", trustedBit|uint32(1)<<9|uint32(1)<<i, "evil")
	}
	addAuthCookieSeeds(f)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, method, fm, fu, fh string, sel uint32, v string) {
		r, ok := e.build(method, "/oauth2/auth", "gw.test", sel, v, nil)
		if !ok {
			return
		}
		for k, x := range map[string]string{"X-Forwarded-Method": fm, "X-Forwarded-Uri": fu, "X-Forwarded-Host": fh} {
			if x != "" && httpguts.ValidHeaderFieldValue(x) {
				r.Header.Add(k, x)
			}
		}
		probe := r.Clone(context.Background())
		before := e.up.count()
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, r)
		resp := rec.Result()
		if !slices.Contains(authStatuses, resp.StatusCode) {
			t.Fatalf("forward-auth %q %q %q: status %d", fm, fu, fh, resp.StatusCode)
		}
		if e.up.count() != before {
			t.Fatal("forward-auth reached the upstream")
		}
		e.checkAnswer(t, resp, rec.Body.String(), e.secrets(sel, v), []string{v, fu, fh, fm})
		checkAuthCookies(t, probe, resp)
		if resp.StatusCode == http.StatusOK {
			e.checkAuthAllowed(t, probe, sel&trustedBit != 0, resp)
		}
	})
}

// checkAuthAllowed: forward-auth's 200 came from a trusted peer, for a
// request whose route allows the identity for the named method (every
// method when none is named), with that identity's response headers.
func (e *fuzzEnv) checkAuthAllowed(t *testing.T, r *http.Request, trusted bool, resp *http.Response) {
	t.Helper()
	if !trusted {
		t.Fatal("200 to an untrusted peer")
	}
	q, _, err := originalRequest(r)
	if err != nil {
		t.Fatalf("200 for a request originalRequest refuses: %v", err)
	}
	if fu := r.Header.Get("X-Forwarded-Uri"); fu != "" {
		raw, _, _ := strings.Cut(fu, "?")
		if p, err := policy.Normalize(raw); err != nil || p != q.path {
			t.Fatalf("200 for %q decided as %q (Normalize: %q, %v)", fu, q.path, p, err)
		}
	}
	who, id, ok := e.decidedIdentity(r)
	methods := []string{q.method}
	if q.method == "" {
		methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	}
	public := false
	for _, m := range methods {
		route := e.cfg.Routes.Match(m, q.host.Name, q.path)
		if route == nil {
			t.Fatalf("200 for %s %s %s, which no route matches", m, q.host, q.path)
		}
		if !ok && !route.Public {
			t.Fatalf("200 for %s %s %s with an invalid Authorization", m, q.host, q.path)
		}
		d := route.Evaluate(id)
		if d.Outcome != portcullis.OutcomeAllow && d.Outcome != portcullis.OutcomePublic {
			t.Fatalf("200 for %s %s %s as %q: route %s says %v", m, q.host, q.path, who, route.Key(), d.Outcome)
		}
		public = d.Outcome == portcullis.OutcomePublic
	}
	want := ""
	if !public && id != nil {
		want = id.Subject
	}
	if got := resp.Header.Get(authRequestUser); got != want {
		t.Fatalf("200 for %s %s as %q carries %s %q", q.method, q.path, who, authRequestUser, got)
	}
}
