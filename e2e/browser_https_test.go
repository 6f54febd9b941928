package e2e

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// httpsSite is one test's certificate (newKeyPair: 127.0.0.1 and the hosts
// of siblingDomain) in files, and the pin Chromium trusts it by.
type httpsSite struct {
	cert, key string // PEM file paths
	spki      string // base64 of the SHA-256 of the certificate's SPKI
}

func newHTTPSSite(t *testing.T) httpsSite {
	t.Helper()
	kp := newKeyPair(t, "browser")
	dir := t.TempDir()
	s := httpsSite{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	writeFile(t, s.cert, kp.certPEM)
	writeFile(t, s.key, kp.keyPEM)
	c, err := x509.ParseCertificate(kp.der)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	s.spki = base64.StdEncoding.EncodeToString(sum[:])
	return s
}

// httpsChromium is a Chromium that trusts site's certificate by its key
// (no blanket ignore: any other certificate is an error) and resolves every
// host of siblingDomain to 127.0.0.1.
func httpsChromium(t *testing.T, site httpsSite) context.Context {
	t.Helper()
	ctx := newChromiumIn(t, t.TempDir(),
		chromedp.Flag("ignore-certificate-errors-spki-list", site.spki),
		chromedp.Flag("host-resolver-rules", "MAP *."+siblingDomain+" 127.0.0.1"))
	// The browser starts now, on this context: started by a step's
	// context, it would end with the step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// httpsCase is a production shape: where TLS ends (the gateway, or nginx in
// front of a plain-http gateway that trusts it), and whether the session
// cookie has a cookie_domain shared by two sibling hosts.
type httpsCase struct {
	name          string
	front, domain bool
}

// httpsSetup is a running httpsCase: the origins a session must reach (the
// first is where the browser signs in and out) and its cookie's name.
type httpsSetup struct {
	httpsCase
	p       *oidctest.Provider
	gw      *gateway
	origins []string
	cookie  string
}

// startHTTPSCase starts the provider (a consent page at each sign-in, so a
// sign-in is seen; every access token within refresh_margin, so each
// authenticated request refreshes), the page upstream, the gateway and,
// for a front, nginx with the same certificate.
func startHTTPSCase(t *testing.T, tc httpsCase, site httpsSite) *httpsSetup {
	t.Helper()
	s := &httpsSetup{httpsCase: tc, cookie: "__Host-portcullis",
		p: oidctest.New(t, oidctest.Options{Consent: true, AccessTokenLifetime: 2 * time.Minute})}
	a := pickAddrs(t)
	listen := a.Listen
	if tc.front {
		listen = testenv.Addr(testenv.FreePort(t))
	}
	port := listen[strings.LastIndex(listen, ":")+1:]
	cfg := tomlConfig{PublicURL: "https://" + listen, Session: "refresh_margin = \"150s\"\n",
		Provider: oidcProvider(s.p.Issuer, s.p.ClientID, s.p.ClientSecret), Upstream: newPageUpstream(t),
		Routes: httpsRoutes}
	s.origins = []string{cfg.PublicURL}
	if tc.domain {
		s.cookie = "__Secure-portcullis"
		cfg.PublicURL = "https://auth." + siblingDomain + ":" + port
		s.origins = []string{"https://app." + siblingDomain + ":" + port, cfg.PublicURL}
		cfg.Server = "allowed_redirect_hosts = [\"app." + siblingDomain + ":" + port + "\"]\n"
		cfg.Session += "cookie_domain = \"" + siblingDomain + "\"\ncookie_name = \"" + s.cookie + "\"\n"
	}
	if tc.front {
		cfg.Server += "trusted_proxies = [\"127.0.0.2\"]\n"
	} else {
		cfg.Server += "tls_cert_file = \"" + site.cert + "\"\ntls_key_file = \"" + site.key + "\"\n"
	}
	s.gw = startGateway(t, a, cfg.String())
	if tc.front {
		runNginx(t, listen, fmt.Sprintf(nginxTLSFront, listen, site.cert, site.key, a.Listen))
	}
	return s
}

// httpsRoutes: /public/** and the browser's own /favicon.ico need no
// sign-in, the rest does. The favicon, fetched beside every page, would
// refresh the session too (every request does here), and one in flight
// at the sign-out can reach the browser after the sign-out's expiry of the
// cookies and set the refreshed session again: a race of its own, which
// would make these steps flaky, not a rule of https.
const httpsRoutes = "[[routes]]\npath = \"/public/**\"\npublic = true\n\n" +
	"[[routes]]\npath = \"/favicon.ico\"\npublic = true\n\n[[routes]]\npath = \"/**\"\n"

// nginxTLSFront terminates TLS before a plain-http gateway, from 127.0.0.2,
// the gateway's one trusted proxy, with the buffers docs/configuration.md
// names (nginx's default failed a sign-in in chunks with a 502). Its format arguments are the listen
// address, the certificate and key files and the gateway's address.
const nginxTLSFront = `
  server {
    listen %[1]s ssl;
    ssl_certificate %[2]s;
    ssl_certificate_key %[3]s;
    proxy_buffer_size 64k;
    proxy_buffers 4 64k;
    proxy_bind 127.0.0.2;
    location / {
      proxy_pass http://%[4]s;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
`

// newPageUpstream is an application whose pages show what it received as
// JSON in #echo, with a link that signs out and returns to /public/.
func newPageUpstream(t *testing.T) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(seen{Method: r.Method, Path: r.URL.EscapedPath(), Host: r.Host, Headers: r.Header.Clone()})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, `<!doctype html><title>app</title><pre id="echo">%s</pre>`+
			`<a id="out" href="/oauth2/sign_out?rd=/public/">sign out</a>`, html.EscapeString(string(b)))
	}))
	t.Cleanup(up.Close)
	return up.URL
}

// TestHTTPSSignInInChromium drives Chromium through the gateway as
// production runs it, over https: the gateway serving TLS itself, or nginx
// terminating it before a plain-http gateway that trusts it; each with the
// default __Host- cookie on one origin, and with a __Secure- cookie under
// cookie_domain on two sibling hosts. Chromium enforces the prefixes' rules
// only over https: a cookie it refuses, or a deletion it ignores, is a
// sign-in loop or a sign-out that does not end the session. A session in
// chunks (many groups) signs in, the browser's jar holds the cookies with
// the attributes their prefix needs and no login-state cookie, each request
// refreshes and rewrites them, every origin gets the identity, and a
// sign-out leaves no gateway cookie, so every origin goes to sign in.
func TestHTTPSSignInInChromium(t *testing.T) {
	t.Parallel() // each case in parallel: each has its own gateway, provider, app, ports and browser
	for _, tc := range []httpsCase{
		{name: "gateway TLS"},
		{name: "gateway TLS, cookie_domain", domain: true},
		{name: "nginx TLS", front: true},
		{name: "nginx TLS, cookie_domain", front: true, domain: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			site := newHTTPSSite(t)
			s := startHTTPSCase(t, tc, site)
			s.p.SetUser(manyGroupsUser(t))
			tab, cancel := context.WithTimeout(httpsChromium(t, site), 90*time.Second)
			defer cancel()
			s.signIn(t, tab)
			before := s.checkJar(t, tab)
			refreshes := s.p.Grants("refresh_token")
			s.open(t, tab, s.origins[0]+"/app")
			if n := s.p.Grants("refresh_token"); n <= refreshes {
				t.Errorf("no refresh at a request within refresh_margin (%d refresh grants before, %d after)", refreshes, n)
			}
			if after := s.checkJar(t, tab); after == before {
				t.Error("the refresh did not rewrite the session cookie in the browser")
			}
			for _, o := range s.origins[1:] {
				s.open(t, tab, o+"/app")
			}
			s.signOut(t, tab)
		})
	}
}

// manyGroupsUser is alice in 40 random groups: her session needs chunks.
func manyGroupsUser(t *testing.T) oidctest.User {
	groups := []any{"staff"}
	for i := range 40 { // random: no compression shrinks it
		groups = append(groups, fmt.Sprintf("group-%d-%s", i, randomSecret(t)))
	}
	return oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": groups}}
}

// signIn opens the first origin's /app, allows at the provider and checks
// the application got alice.
func (s *httpsSetup) signIn(t *testing.T, tab context.Context) {
	t.Helper()
	step, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(step, chromedp.Navigate(s.origins[0]+"/app"), chromedp.WaitVisible("#allow"),
		chromedp.Click("#allow"), chromedp.WaitVisible("#echo")); err != nil {
		t.Fatalf("sign-in: %v (%s)\n%s", err, shownPage(tab), s.gw.Proc.Output())
	}
	s.checkIdentity(t, tab, s.origins[0])
}

// shownPage is the tab's location and the start of its text, for a failure.
func shownPage(tab context.Context) string {
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		return "no location: " + err.Error()
	}
	text, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 200) : ""`))
	loc, _, _ = strings.Cut(loc, "?") // a callback's query holds a code
	return "at " + loc + ": " + strconv.Quote(text)
}

// waitFor evaluates js in the tab until it is true (a navigation under way
// fails an evaluation: it is tried again), failing the test at the tab's
// deadline.
func (s *httpsSetup) waitFor(t *testing.T, tab context.Context, js, what string) {
	t.Helper()
	for {
		if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if tab.Err() != nil {
			t.Fatalf("waiting for %s: %v (%s)\n%s", what, tab.Err(), shownPage(tab), s.gw.Proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// open navigates to u, an application page, and checks it got alice.
func (s *httpsSetup) open(t *testing.T, tab context.Context, u string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(u), chromedp.WaitVisible("#echo, #allow")); err != nil {
		t.Fatalf("%s: %v\n%s", u, err, s.gw.Proc.Output())
	}
	s.checkIdentity(t, tab, u)
}

// checkIdentity reads the application's echo on the page at u.
func (s *httpsSetup) checkIdentity(t *testing.T, tab context.Context, u string) {
	t.Helper()
	loc, _ := chromedp.Run(tab, chromedp.Location())
	text, err := chromedp.Run(tab, chromedp.Text("#echo"))
	if err != nil {
		t.Fatalf("at %s, not the application's page after %s: %v\n%s", loc, u, err, s.gw.Proc.Output())
	}
	if got := decodeSeen(t, text).Headers.Get("X-Forwarded-User"); got != "alice" {
		t.Errorf("the application at %s got X-Forwarded-User %q, want alice", loc, got)
	}
}

// jar is every cookie in the browser (Storage.getCookies).
func jar(t *testing.T, tab context.Context) []*network.Cookie {
	t.Helper()
	res, err := chromedp.Run(tab, func(ctx context.Context, tg *chromedp.Target) (storage.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, storage.GetCookies, storage.GetCookiesParams{})
	})
	if err != nil {
		t.Fatalf("the browser's cookies: %v", err)
	}
	return res.Cookies
}

// gatewayCookies are the cookies of jar whose names are the gateway's: the
// session cookie, its chunks and the login-state cookies.
func (s *httpsSetup) gatewayCookies(jar []*network.Cookie) []*network.Cookie {
	var own []*network.Cookie
	for _, c := range jar {
		if c.Name == s.cookie || strings.HasPrefix(c.Name, s.cookie+"_") {
			own = append(own, c)
		}
	}
	return own
}

// describe names a cookie with its attributes, never its value.
func describe(c *network.Cookie) string {
	return fmt.Sprintf("%s (Domain %q, Path %q, Secure %v, HttpOnly %v, SameSite %q)",
		c.Name, c.Domain, c.Path, c.Secure, c.HTTPOnly, c.SameSite)
}

// checkJar checks the session's cookies in the browser's jar: the session
// cookie and at least one chunk, no login-state cookie left, each with
// the attributes its prefix needs (a __Host- cookie host-only, a domain
// cookie on cookie_domain). It returns their values joined, to compare.
func (s *httpsSetup) checkJar(t *testing.T, tab context.Context) string {
	t.Helper()
	var values []string
	names := map[string]bool{}
	for _, c := range s.gatewayCookies(jar(t, tab)) {
		names[c.Name] = true
		values = append(values, c.Name+"="+c.Value)
		hostOnly := !strings.HasPrefix(c.Domain, ".")
		bad := !c.Secure || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" ||
			strings.Contains(c.Name, "_login_") || hostOnly == s.domain ||
			(s.domain && c.Domain != "."+siblingDomain)
		if bad {
			t.Errorf("cookie %s in the browser's jar", describe(c))
		}
	}
	if !names[s.cookie] || !names[s.cookie+"_1"] {
		t.Errorf("the browser's jar holds the gateway cookies %v, want %s in chunks", keys(names), s.cookie)
	}
	return strings.Join(values, ";")
}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// signOut follows the application's sign-out link on the first origin:
// the browser holds no gateway cookie after it, and every origin's /app
// goes to the provider's sign-in.
func (s *httpsSetup) signOut(t *testing.T, tab context.Context) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(s.origins[0]+"/app"), chromedp.WaitVisible("#out"), chromedp.Click("#out")); err != nil {
		t.Fatalf("sign-out: %v\n%s", err, s.gw.Proc.Output())
	}
	s.waitFor(t, tab, `location.pathname === "/public/" && document.getElementById("echo") !== null`, "the sign-out's return to /public/")
	if left := s.gatewayCookies(jar(t, tab)); len(left) > 0 {
		for _, c := range left {
			t.Errorf("after the sign-out the browser still holds %s", describe(c))
		}
		t.Logf("gateway:\n%s", s.gw.Proc.Output())
	}
	for _, o := range s.origins {
		if err := chromedp.Do(tab, chromedp.Navigate(o+"/app"), chromedp.WaitVisible("#echo, #allow")); err != nil {
			t.Fatalf("%s/app after the sign-out: %v", o, err)
		}
		if loc, _ := chromedp.Run(tab, chromedp.Location()); !strings.HasPrefix(loc, s.p.Issuer+"/authorize") {
			t.Errorf("%s/app after the sign-out ended at %s, want the provider's sign-in", o, loc)
		}
	}
}
