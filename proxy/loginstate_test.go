package proxy

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/session"
)

// browserClient is a browser stand-in: a cookie jar, no redirects
// followed, and the gateway's public host in every request's Host.
type browserClient struct {
	t      *testing.T
	srv    string
	jar    *cookiejar.Jar
	client *http.Client
}

func newBrowserClient(t *testing.T, srv string) *browserClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browserClient{t: t, srv: srv, jar: jar, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browserClient) get(path string) *http.Response {
	b.t.Helper()
	req, err := http.NewRequest("GET", b.srv+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Host = "gw.test"
	req.Header.Set("Accept", "text/html")
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp
}

// cookieURL is where the jar keeps the gateway's cookies: the client files
// them under the request's Host.
func (b *browserClient) cookieURL() *url.URL {
	return &url.URL{Scheme: "http", Host: "gw.test", Path: "/"}
}

// loginStateBytes sums what the gateway's login-state cookies in the jar
// add to a Cookie header, and counts them.
func (b *browserClient) loginStateBytes(f *fixture) (total, count int) {
	for _, c := range b.jar.Cookies(b.cookieURL()) {
		if f.states.Owns(c.Name) {
			total += len(c.Name) + len(c.Value) + 3
			count++
		}
	}
	return total, count
}

// TestLoginStateFloodNeverLocksOutTheBrowser: a page that sends a browser
// through many login starts with 2 KB queries (a popup navigated again and
// again, to protected pages and to {prefix}/start?rd=) leaves a bounded
// amount of login-state cookies, next to 3 KB of an application's own
// cookies, and the browser's next request is answered normally, not 431.
func TestLoginStateFloodNeverLocksOutTheBrowser(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	b := newBrowserClient(t, srv.URL)
	b.jar.SetCookies(b.cookieURL(), []*http.Cookie{{Name: "app_prefs", Value: strings.Repeat("p", 3000)}})
	query := strings.Repeat("a", 2048)
	for i := range 10 {
		target := fmt.Sprintf("/app/page%d?q=%s", i, query)
		if i%2 == 1 {
			target = "/oauth2/start?rd=" + url.QueryEscape(target)
		}
		resp := b.get(target)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("start %d: status %d", i, resp.StatusCode)
		}
		total, n := b.loginStateBytes(f)
		if n == 0 {
			t.Fatalf("start %d left no login-state cookie in the jar", i)
		}
		if total > session.MaxLoginStateBytes {
			t.Fatalf("after %d starts: %d login-state cookies of %d bytes, over %d", i+1, n, total, session.MaxLoginStateBytes)
		}
	}
	if resp := b.get("/public/x"); resp.StatusCode != http.StatusOK {
		t.Errorf("request after the flood: status %d, want 200", resp.StatusCode)
	}
}

// TestHeadersTooLargeExpiresLoginStates: a browser whose login-state
// cookies (say, left by an older version) push it over the Cookie limit
// gets one 431, which expires them and nothing else; its next request
// works and its session survives.
func TestHeadersTooLargeExpiresLoginStates(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	b := newBrowserClient(t, srv.URL)
	u := b.cookieURL()
	b.jar.SetCookies(u, f.cookies(t, f.session()))
	var planted []*http.Cookie
	for i := range 5 {
		planted = append(planted, &http.Cookie{Name: fmt.Sprintf("portcullis_login_%d", i), Value: strings.Repeat("v", 3800), Path: "/"})
	}
	b.jar.SetCookies(u, planted)
	resp := b.get("/app/x")
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
	expired := map[string]bool{}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 && c.Value == "" && c.Path == "/" {
			expired[c.Name] = true
		} else {
			t.Errorf("the 431 sets a cookie that is not an expiry of a login state: %v", c)
		}
	}
	for _, c := range planted {
		if !expired[c.Name] {
			t.Errorf("the 431 leaves %s in place", c.Name)
		}
	}
	if expired["portcullis"] {
		t.Error("the 431 ends the session")
	}
	if resp := b.get("/app/x"); resp.StatusCode != http.StatusOK {
		t.Errorf("next request: status %d, want 200 with the session", resp.StatusCode)
	}
}

// TestCallbackReplayedToAnotherReplicaIsRefused: two replicas share the
// secrets and a Redis store; a copy of a victim's callback (its URL and its
// login-state cookie, as a proxy log or a shared machine keeps them)
// replayed to the replica that did not serve it was accepted there, since
// each replica remembered only the states it accepted itself, and its code
// redeemed a second time, which only a provider that enforces single use
// refuses (this one does not).
func TestCallbackReplayedToAnotherReplicaIsRefused(t *testing.T) {
	a, b := twoReplicasOnRedis(t)
	state, cookies := startLogin(t, a, "/app/")
	callback := "/oauth2/callback?code=c0de&state=" + url.QueryEscape(state)
	if resp := a.do(t, "GET", callback, nil, withCookies(cookies), browser()); resp.StatusCode != http.StatusFound {
		t.Fatalf("the victim's callback: %d", resp.StatusCode)
	}
	resp := b.do(t, "GET", callback, nil, withCookies(cookies), browser())
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "already used") {
		t.Errorf("the replayed callback on the other replica: %d (Location %q), want 400 already used", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := liveCookies(resp); len(got) != 0 {
		t.Errorf("the replay got cookies: %v", got)
	}
	if n := a.prov.exchanges.Load(); n != 1 {
		t.Errorf("the code was redeemed %d times, want once", n)
	}
}

// twoReplicasOnRedis returns two gateways that share the secrets, a Redis
// store and the provider, each with its own memory of accepted states.
func twoReplicasOnRedis(t *testing.T) (a, b *fixture) {
	t.Helper()
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i*31 + 7)
	}
	var cc session.CookieConfig
	a = newFixture(t, func(c *Config) {
		cc = session.CookieConfig{Name: "portcullis", Secrets: [][]byte{secret}, Lifetime: 12 * time.Hour, Now: c.Now}
		states, err := session.NewStateCookies(cc)
		if err != nil {
			t.Fatal(err)
		}
		c.Sessions, c.LoginStates = realRedisStore(t, c.Now), states
	})
	bf := *a
	statesB, err := session.NewStateCookies(cc)
	if err != nil {
		t.Fatal(err)
	}
	bf.cfg.LoginStates, bf.states = statesB, statesB
	if bf.h, err = New(bf.cfg); err != nil {
		t.Fatal(err)
	}
	return a, &bf
}
