package proxy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/session"
)

// fakeProvider plays the identity provider: the tests cannot make a real one
// misbehave in every way needed here. Its behaviour is set per test.
type fakeProvider struct {
	mu          sync.Mutex
	notReady    bool
	issuer      string
	issParam    bool
	endSession  string // "" = no end_session_endpoint
	exchangeErr error
	identity    portcullis.Identity
	tokens      idp.Tokens
	refreshFn   func(rt string) (*idp.Tokens, *portcullis.Identity, error)
	bearers     map[string]*portcullis.Identity
	onVerify    func() // called by VerifyBearer before it answers (a slow provider)
	verifyErr   error  // VerifyBearer's answer when set (a provider that cannot be reached)
	verifies    atomic.Int32
	logoutSub   string
	logoutSID   string
	marked      []string // MarkLogoutTokenUsed calls

	exchanges    atomic.Int32
	refreshes    atomic.Int32
	revoked      []string
	revokeErr    error // Revoke's answer when set (a provider that refused it)
	noRevocation bool  // the provider publishes no revocation endpoint
	lastScopes   []string
	lastCode     string
	lastVerif    string
	lastNonce    string
	lastAuth     string // last authorization URL returned
}

var _ Provider = (*fakeProvider)(nil)

func (p *fakeProvider) Ready() bool                    { return !p.notReady }
func (p *fakeProvider) Issuer() string                 { return p.issuer }
func (p *fakeProvider) IssuerParameterSupported() bool { return p.issParam }

func (p *fakeProvider) AuthCodeURL(state, nonce, verifier string, scopes []string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastScopes = scopes
	q := url.Values{"state": {state}, "nonce": {nonce}, "code_challenge_method": {"S256"}, "response_type": {"code"}}
	if scopes != nil {
		q.Set("scope", strings.Join(scopes, " "))
	}
	p.lastAuth = "https://idp.test/authorize?" + q.Encode()
	return p.lastAuth, nil
}

func (p *fakeProvider) Exchange(ctx context.Context, code, verifier, nonce string, _ time.Time) (*idp.Tokens, *portcullis.Identity, error) {
	p.exchanges.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastCode, p.lastVerif, p.lastNonce = code, verifier, nonce
	if p.exchangeErr != nil {
		return nil, nil, p.exchangeErr
	}
	t, id := p.tokens, p.identity
	return &t, &id, nil
}

func (p *fakeProvider) Refresh(ctx context.Context, rt string, prev *portcullis.Identity) (*idp.Tokens, *portcullis.Identity, error) {
	p.refreshes.Add(1)
	if p.refreshFn == nil {
		return nil, nil, errors.New("fake: no refresh")
	}
	return p.refreshFn(rt)
}

func (p *fakeProvider) VerifyBearer(ctx context.Context, token string) (*portcullis.Identity, error) {
	p.verifies.Add(1)
	p.mu.Lock()
	slow := p.onVerify
	p.mu.Unlock()
	if slow != nil {
		slow()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.verifyErr != nil {
		return nil, p.verifyErr
	}
	if id, ok := p.bearers[token]; ok {
		return id, nil
	}
	return nil, idp.ErrInvalidToken
}

func (p *fakeProvider) Revoke(ctx context.Context, rt string) error {
	if err := ctx.Err(); err != nil {
		return err // as an HTTP call on a cancelled context fails
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = append(p.revoked, rt)
	return p.revokeErr
}

func (p *fakeProvider) Revocable() bool { return !p.noRevocation }

func (p *fakeProvider) EndSessionURL(hint, state, post string) string {
	if p.endSession == "" {
		return ""
	}
	return p.endSession + "?" + url.Values{"id_token_hint": {hint}, "state": {state}, "post_logout_redirect_uri": {post}}.Encode()
}

func (p *fakeProvider) VerifyLogoutToken(ctx context.Context, raw string) (string, string, error) {
	if raw != "good-logout-token" {
		return "", "", idp.ErrInvalidToken
	}
	return p.logoutSub, p.logoutSID, nil
}

func (p *fakeProvider) MarkLogoutTokenUsed(ctx context.Context, raw string) error {
	p.marked = append(p.marked, raw)
	return nil
}

// recorded is what the stub upstream received.
type recorded struct {
	Method, Path, RawPath, RequestURI, Host string
	Header                                  http.Header
	Body                                    string
}

// stubUpstream is an upstream that records each request it receives.
type stubUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

func newStubUpstream(tb testing.TB, h http.HandlerFunc) *stubUpstream {
	tb.Helper()
	s := &stubUpstream{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.RequestURI, r.Host, r.Header.Clone(), string(body)})
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.WriteString(w, "upstream ok")
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *stubUpstream) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *stubUpstream) last(tb testing.TB) recorded {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		tb.Fatal("the upstream received no request")
	}
	return s.reqs[len(s.reqs)-1]
}

// clock is a settable clock.
// clock is the tests' settable clock. Its reads take no lock: every request
// reads it several times, and a lock here would be the most contended one in
// a parallel benchmark, which a gateway on time.Now does not have.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.t.Store(&t)
	return c
}

func (c *clock) Now() time.Time { return *c.t.Load() }
func (c *clock) Advance(d time.Duration) {
	for {
		old := c.t.Load()
		t := old.Add(d)
		if c.t.CompareAndSwap(old, &t) {
			return
		}
	}
}

// testRoutes is the route table of the tests.
var testRoutes = []policy.RouteConfig{
	{Path: "/public/**", Public: true},                      // 0
	{Path: "/admin/**", AllowGroups: []string{"admins"}},    // 1
	{Path: "/api/**", RequireScopes: []string{"api:write"}}, // 2
	{Path: "/denied/**", Deny: true, Name: "deny-all"},      // 3
	{Path: "/app/**"}, // 4
	{Path: "/mail/**", AllowEmailDomains: []string{"example.com"}},      // 5
	{Host: "other.test", Path: "/**", RequireScopes: []string{"other"}}, // 6
}

type fixture struct {
	h      *Handler
	cfg    Config
	prov   *fakeProvider
	up     *stubUpstream
	store  *session.CookieStore
	cookie session.CookieConfig // store's settings
	states *session.StateCookies
	clock  *clock
}

type fixtureOption func(*Config)

// newFixture builds a Handler over the real cookie store, login-state
// cookies and route table, a fake provider and a stub upstream.
func newFixture(tb testing.TB, opts ...fixtureOption) *fixture {
	tb.Helper()
	return newFixtureWith(tb, nil, opts...)
}

func newFixtureWith(tb testing.TB, upstreamHandler http.HandlerFunc, opts ...fixtureOption) *fixture {
	tb.Helper()
	f := &fixture{clock: newClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))}
	f.up = newStubUpstream(tb, upstreamHandler)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	cc := session.CookieConfig{Name: "portcullis", Secrets: [][]byte{secret}, Lifetime: 12 * time.Hour, Now: f.clock.Now}
	var err error
	if f.store, err = session.NewCookieStore(cc); err != nil {
		tb.Fatal(err)
	}
	f.cookie = cc
	if f.states, err = session.NewStateCookies(cc); err != nil {
		tb.Fatal(err)
	}
	table, err := policy.Compile(testRoutes)
	if err != nil {
		tb.Fatal(err)
	}
	f.prov = &fakeProvider{
		issuer:   "https://idp.test",
		identity: portcullis.Identity{Subject: "alice", Email: "alice@example.com", EmailVerified: true, Groups: []string{"admins", "staff"}, PreferredUsername: "alice"},
		tokens:   idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", IDToken: "idt-1", Scopes: []string{"openid", "email"}},
		bearers:  map[string]*portcullis.Identity{},
	}
	upURL, _ := url.Parse(f.up.URL)
	f.cfg = Config{
		PublicURL:            mustURL(tb, "http://gw.test"),
		AllowedRedirectHosts: []string{"app.test", "*.example.com"},
		Upstreams:            []Upstream{{Name: "app", URL: upURL}},
		Headers: Headers{User: "X-Forwarded-User", Email: "X-Forwarded-Email", Groups: "X-Forwarded-Groups",
			PreferredUsername: "X-Forwarded-Preferred-Username", Assertion: "X-Portcullis-Jwt-Assertion",
			Claims: map[string]string{"X-Forwarded-Tenant": "tenant"}},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Refresh:        true,
		RefreshMargin:  time.Minute,
		Routes:         table,
		Provider:       f.prov,
		Sessions:       f.store,
		LoginStates:    f.states,
		Now:            f.clock.Now,
	}
	for _, o := range opts {
		o(&f.cfg)
	}
	if f.h, err = New(f.cfg); err != nil {
		tb.Fatal(err)
	}
	return f
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// session returns a session for the fixture's identity, valid for an hour.
func (f *fixture) session() *session.Session {
	now := f.clock.Now()
	id := f.prov.identity
	id.Scopes = []string{"openid", "email"}
	return &session.Session{Identity: id, AccessToken: "at-0", RefreshToken: "rt-0", IDToken: "idt-0",
		Expiry: now.Add(time.Hour), CreatedAt: now, ExpiresAt: now.Add(12 * time.Hour)}
}

// cookies seals s with the real store and returns the cookies a browser
// would send.
func (f *fixture) cookies(tb testing.TB, s *session.Session) []*http.Cookie {
	tb.Helper()
	rec := httptest.NewRecorder()
	if err := f.store.Save(rec, httptest.NewRequest("GET", "/", nil), s); err != nil {
		tb.Fatal(err)
	}
	var out []*http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

type reqOption func(*http.Request)

func withCookies(cs []*http.Cookie) reqOption {
	return func(r *http.Request) {
		for _, c := range cs {
			r.AddCookie(c)
		}
	}
}

func withHeader(k, v string) reqOption { return func(r *http.Request) { r.Header.Add(k, v) } }

func browser() reqOption { return withHeader("Accept", "text/html,application/xhtml+xml,*/*;q=0.8") }

func fromPeer(addr string) reqOption { return func(r *http.Request) { r.RemoteAddr = addr } }

// do runs one request through the handler.
func (f *fixture) do(tb testing.TB, method, target string, body io.Reader, opts ...reqOption) *http.Response {
	tb.Helper()
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = "192.0.2.7:5555"
	if strings.HasPrefix(target, "/") {
		r.Host = "gw.test" // the public URL's host, as a browser at the gateway sends it
	}
	if strings.HasPrefix(target, "/oauth2/auth") {
		// A front proxy's subrequest, sent to the gateway's own address
		// as the documented nginx and Traefik snippets send it.
		r.Host = "127.0.0.1:4180"
	}
	for _, o := range opts {
		o(r)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec.Result()
}

func readBody(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// responseCookies returns the cookies set by resp, by name (the last wins).
func responseCookies(resp *http.Response) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range resp.Cookies() {
		m[c.Name] = c
	}
	return m
}

// liveCookies are the cookies a browser keeps after resp.
func liveCookies(resp *http.Response) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range responseCookies(resp) {
		if c.MaxAge >= 0 && c.Value != "" {
			out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	return out
}

func TestNewRefusesBadConfig(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no public URL", func(c *Config) { c.PublicURL = nil }},
		{"relative public URL", func(c *Config) { c.PublicURL = &url.URL{Path: "/x"} }},
		{"no routes", func(c *Config) { c.Routes = nil }},
		{"no provider", func(c *Config) { c.Provider = nil }},
		{"prefix without slash", func(c *Config) { c.Prefix = "oauth2" }},
		{"prefix with trailing slash", func(c *Config) { c.Prefix = "/oauth2/" }},
		{"duplicate upstream", func(c *Config) { c.Upstreams = append(c.Upstreams, c.Upstreams[0]) }},
		{"upstream without scheme", func(c *Config) { c.Upstreams = []Upstream{{Name: "x", URL: &url.URL{Host: "h"}}} }},
		{"bad redirect host", func(c *Config) { c.AllowedRedirectHosts = []string{"https://x"} }},
		{"unsupported assertion key", func(c *Config) { c.AssertionKey, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.cfg
			tt.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted a bad config")
			} else if !strings.HasPrefix(err.Error(), "proxy: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

// waitUntil polls cond until it holds, failing the test after 10 s. A test
// that must see a background step done (a request at the upstream, a
// verification answered) waits for it here: a fixed sleep is too short on a
// loaded machine, where the step comes later.
func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("waited 10 s for %s", what)
		}
	}
}
