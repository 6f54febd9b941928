package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// scopeDomain is a registrable domain whose hosts resolvingBrowser sends
// to 127.0.0.1: a cookie jar keeps no Domain cookie for an IP address.
const scopeDomain = "scope.test"

// TestCookieScopeChangeSignsInAgain: docs/sessions.md says changing
// cookie_domain signs everybody out. The browser keeps the cookie of the
// old scope beside the one the new sign-in sets, of the same name, and
// sends the older first (RFC 6265 §5.4). That one no longer opens
// (sessions are bound to their scope), so the gateway sent the browser to
// sign in, and again after that sign-in: a redirect loop until the old
// cookie's lifetime ran out, for every user who had a session (before:
// "stopped after 10 redirects" for each store, cookie_domain set or
// removed). The gateway now reads the first cookie of the name that opens;
// a sign-out then ends that session, not only the old cookie's.
func TestCookieScopeChangeSignsInAgain(t *testing.T) {
	t.Parallel()
	domain := "cookie_domain = \"" + scopeDomain + "\"\n"
	for _, c := range []struct{ name, store, before, after string }{
		{"cookie store, cookie_domain set", "", "", domain},
		{"cookie store, cookie_domain removed", "", domain, ""},
		{"redis store, cookie_domain set", "redis", "", domain},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			session := ""
			var rs *redisServer
			if c.store == "redis" {
				rs = startRedis(t, false)
				session = "store = \"redis\"\nredis_url = \"" + rs.URL() + "\"\n"
			}
			scopeChange(t, session+c.before, session+c.after, rs)
		})
	}
}

// scopeChange signs a browser in under the [session] keys before, reloads
// with after, and checks that the browser signs in again, stays signed in
// and can sign out (with Redis, rs: its session deleted).
func scopeChange(t *testing.T, before, after string, rs *redisServer) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com", "email_verified": true}})
	a := pickAddrs(t)
	pub := "http://auth." + scopeDomain + ":" + a.Listen[strings.LastIndex(a.Listen, ":")+1:]
	cfg := func(session string) string {
		return tomlConfig{PublicURL: pub, Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
			Session: session, Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\nallow_email_domains = [\"example.com\"]\n"}.String()
	}
	gw := startGateway(t, a, cfg(before))
	c := resolvingBrowser(t, scopeDomain)
	if status, body := signedInGet(c, pub+"/hello"); status != 200 {
		t.Fatalf("sign-in before the change: %s (%.200s)\n%s", statusText(status), body, gw.Proc.Output())
	}
	gw.rewrite(t, a, cfg(after))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, "config reloaded", 1)
	for _, what := range []string{"the first request after the change", "the next one"} {
		if status, body := signedInGet(c, pub+"/hello"); status != 200 {
			t.Fatalf("%s, with the old cookie kept: %s (%s)", what, statusText(status), body)
		}
	}
	if n := len(c.Jar.Cookies(mustURL(t, pub))); n < 2 {
		t.Fatalf("the jar holds %d cookies for the gateway, want the old scope's beside the new", n)
	}
	signOutEnds(t, c, pub, rs)
}

// signOutEnds signs c out of the gateway at pub and checks that it is
// signed out and, with Redis (rs), that the sign-out deleted one session:
// the one the browser was served with.
func signOutEnds(t *testing.T, c *http.Client, pub string, rs *redisServer) {
	live := func() int { return 0 }
	if rs != nil {
		live = func() int {
			keys, err := rs.Client().Keys(context.Background(), "portcullis:s:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			return len(keys)
		}
	}
	was := live()
	// The sign-out's own answer: followed, its redirect to the app would
	// sign the browser in again.
	once := *c
	once.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if status, body := signedInGet(&once, pub+"/oauth2/sign_out"); status != http.StatusFound {
		t.Fatalf("sign-out: %s (%s)", statusText(status), body)
	}
	if status, _ := signedInGet(&once, pub+"/hello"); status != http.StatusFound {
		t.Errorf("after the sign-out: %s, want a redirect to sign in", statusText(status))
	}
	// The old scope's session is no longer opened by any cookie and stays
	// in Redis until its lifetime; the one the browser was served with is
	// the one the sign-out ends.
	if rs != nil && live() != was-1 {
		t.Errorf("the sign-out left %d sessions in Redis of %d, want one fewer", live(), was)
	}
}

// signedInGet is a navigation to u that follows the sign-in's redirects
// (ten at most, as a Go client does); status 0 with the error as body when
// the client gave up.
func signedInGet(c *http.Client, u string) (int, string) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		// The URL it gave up at holds a state: only the reason is shown.
		msg := err.Error()
		return 0, msg[strings.LastIndex(msg, ": ")+2:]
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return resp.StatusCode, b.String()
}

func statusText(status int) string {
	if status == 0 {
		return "no answer"
	}
	return http.StatusText(status)
}

// resolvingBrowser is browser with every host under domain resolved to
// 127.0.0.1, so that the jar keeps Domain cookies.
func resolvingBrowser(t *testing.T, domain string) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := clientTransport.Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err == nil && strings.HasSuffix(host, "."+domain) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return d.DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: tr}
}
