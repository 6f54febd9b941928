package demo

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// relyingParty is the test's stand-in for the gateway: an httptest server at
// the GatewayURL that records what arrives at its callback and signed-out URIs.
type relyingParty struct {
	srv *httptest.Server

	mu        sync.Mutex
	callbacks []url.Values
	signedOut []url.Values
}

func newRelyingParty(tb testing.TB) *relyingParty {
	tb.Helper()
	rp := &relyingParty{}
	rp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp.mu.Lock()
		defer rp.mu.Unlock()
		switch r.URL.Path {
		case "/oauth2/callback":
			rp.callbacks = append(rp.callbacks, r.URL.Query())
		case "/oauth2/signed_out":
			rp.signedOut = append(rp.signedOut, r.URL.Query())
		default:
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	tb.Cleanup(rp.srv.Close)
	return rp
}

func (rp *relyingParty) callbackCount() int {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return len(rp.callbacks)
}

// fakeClock is a clock a test advances instead of sleeping.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// testWorld is a started Env with its relying party and go-oidc provider.
type testWorld struct {
	env      *Env
	rp       *relyingParty
	clock    *fakeClock
	provider *oidc.Provider
	oauth    *oauth2.Config
	ctx      context.Context
}

func mustStart(tb testing.TB) *testWorld {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	rp := newRelyingParty(tb)
	clock := &fakeClock{}
	env, err := Start(ctx, Options{GatewayURL: rp.srv.URL, Now: clock.now})
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { env.Close() })
	provider, err := oidc.NewProvider(ctx, env.IssuerURL)
	if err != nil {
		tb.Fatalf("discovery: %v", err)
	}
	return &testWorld{
		env: env, rp: rp, clock: clock, provider: provider, ctx: ctx,
		oauth: &oauth2.Config{
			ClientID: env.ClientID, ClientSecret: env.ClientSecret,
			Endpoint:    provider.Endpoint(),
			RedirectURL: rp.srv.URL + "/oauth2/callback",
			Scopes:      []string{oidc.ScopeOpenID, "email", "profile", "groups", oidc.ScopeOfflineAccess},
		},
	}
}

func (w *testWorld) user(tb testing.TB, name string) User {
	tb.Helper()
	for _, u := range w.env.Users {
		if u.Name == name {
			return u
		}
	}
	tb.Fatalf("no demo user %q", name)
	return User{}
}

func browser(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// loginAttempt is one authorization request up to the login form.
type loginAttempt struct {
	state, nonce, verifier string
	requestID              string
	client                 *http.Client
}

// startLogin sends a browser to the authorization endpoint with state,
// nonce and a PKCE S256 challenge, and returns the login form's request id.
func (w *testWorld) startLogin(tb testing.TB) *loginAttempt {
	tb.Helper()
	a := &loginAttempt{state: rand.Text(), nonce: rand.Text(), verifier: oauth2.GenerateVerifier(), client: browser(tb)}
	authURL := w.oauth.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
	resp, err := a.client.Get(authURL)
	if err != nil {
		tb.Fatalf("GET authorization endpoint: %v", err)
	}
	body := readBody(tb, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != loginPath {
		tb.Fatalf("authorization ended at %s with %d, want the login form", resp.Request.URL, resp.StatusCode)
	}
	m := hiddenID.FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("login form has no request id:\n%s", body)
	}
	a.requestID = m[1]
	return a
}

// submit posts the login form and returns the final response and its body.
func (w *testWorld) submit(tb testing.TB, a *loginAttempt, name, password string) (*http.Response, string) {
	tb.Helper()
	resp, err := a.client.PostForm(w.env.IssuerURL+loginPath, url.Values{
		"id": {a.requestID}, "username": {name}, "password": {password},
	})
	if err != nil {
		tb.Fatalf("POST login: %v", err)
	}
	return resp, readBody(tb, resp)
}

// login completes a full authorization-code + PKCE login and redeems the code.
func (w *testWorld) login(tb testing.TB, name string) (*oauth2.Token, *loginAttempt) {
	tb.Helper()
	a := w.startLogin(tb)
	resp, _ := w.submit(tb, a, name, w.user(tb, name).Password)
	got := resp.Request.URL
	if resp.StatusCode != http.StatusOK || got.Path != "/oauth2/callback" {
		tb.Fatalf("login ended at %s with %d, want the relying party's callback", got, resp.StatusCode)
	}
	q := got.Query()
	if q.Get("state") != a.state || q.Get("code") == "" {
		tb.Fatalf("callback query %v: want state %q and a code", q, a.state)
	}
	tok, err := w.oauth.Exchange(w.ctx, q.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		tb.Fatalf("code exchange: %v", err)
	}
	return tok, a
}

func readBody(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestStartBindsLoopbackAndStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env, err := Start(ctx, Options{GatewayURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{env.IssuerURL, env.UpstreamURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
			t.Errorf("listener URL %q: want http://127.0.0.1:PORT", raw)
		}
	}
	if len(env.Users) < 2 || env.Users[0].Password == env.Users[1].Password {
		t.Errorf("users %v: want at least two with distinct passwords", env.Users)
	}
	resp, err := http.Get(env.IssuerURL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		_, errProv := c.Get(env.IssuerURL)
		_, errUp := c.Get(env.UpstreamURL)
		if errProv != nil && errUp != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("listeners still answer after the context was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := env.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
}

func TestStartWithDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if env, err := Start(ctx, Options{GatewayURL: "http://127.0.0.1:1"}); err == nil {
		env.Close()
		t.Fatal("Start with a cancelled context succeeded")
	}
}

func TestStartRejectsBadGatewayURL(t *testing.T) {
	for _, raw := range []string{"", "127.0.0.1:8080", "ftp://127.0.0.1", "http://127.0.0.1/?x=1", "http://u:p@127.0.0.1"} {
		t.Run(raw, func(t *testing.T) {
			env, err := Start(context.Background(), Options{GatewayURL: raw})
			if err == nil {
				env.Close()
				t.Fatalf("Start(%q) succeeded, want an error", raw)
			}
			if !strings.HasPrefix(err.Error(), "demo: ") {
				t.Errorf("error %q does not start with the package name", err)
			}
		})
	}
}
