package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestNoSecretInAnyOutput is the gauntlet for "never log or echo tokens,
// cookies or secrets": the real binary, a real provider and redis-server,
// every path that writes something (sign-in, callback errors, refresh and
// its refusal, sign-out, bearer tokens good and bad, forward-auth,
// introspection, back-channel logout, Redis and the provider down, reloads
// good and bad, hostile cookies, check, sessions), at debug and the default
// level, in JSON and text, with spans on standard output. Every secret the
// test made or the provider issued is then looked for in the logs, spans,
// metrics, health answers, command output, every answer the client got
// and every header the upstream got, outside the places the docs say
// deliver it.
func TestNoSecretInAnyOutput(t *testing.T) {
	t.Parallel()
	for _, c := range []gauntletCase{
		{name: "redis-json-debug", redis: true, log: "format = \"json\"\nlevel = \"debug\"\n"},
		{name: "cookie-text-default", log: ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := newGauntlet(t, c)
			g.run()
			g.w.check(t, 60, 100)
		})
	}
}

type gauntletCase struct {
	name  string
	redis bool
	log   string // the [log] keys
}

// gauntlet is one gateway under test and everything it talks to.
type gauntlet struct {
	t    *testing.T
	c    gauntletCase
	w    *leakWatch
	p    *oidctest.Provider
	rs   *redisServer
	up   *upstream
	a    addrs
	gw   *gateway
	cfg  string // the good configuration
	dir  string
	http *http.Client // records the gateway's answers, follows no redirect
	// presented are the bearer tokens the test sent: the client's own
	// Authorization header reaches the upstream as it is.
	presented map[string]bool
}

func newGauntlet(t *testing.T, c gauntletCase) *gauntlet {
	g := &gauntlet{t: t, c: c, w: newLeakWatch(), presented: map[string]bool{}, a: pickAddrs(t), dir: t.TempDir(), up: quietUpstream(t)}
	clientSecret := randomSecret(t)
	g.w.secret("client secret", clientSecret)
	g.w.secret("session secret", secret)
	old := randomSecret32(t)
	g.w.secret("older session secret", old)
	groups := []string{"admins"}
	if !c.redis {
		for i := range 40 { // a session in several cookie chunks
			groups = append(groups, "group-"+strconv.Itoa(i)+"-"+randomSecret(t)) // random: no compression shrinks it
		}
	}
	g.p = oidctest.New(t, oidctest.Options{RecordMinted: true, ClientSecret: clientSecret, AccessTokenLifetime: 70 * time.Second,
		User: &oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com",
			"email_verified": true, "preferred_username": "alice", "groups": groups, "sid": "sid-alice"}}})
	// client_secret_basic sends it inside another base64 (RFC 6749 §2.3.1).
	g.w.secret("client credentials (Basic)", base64.StdEncoding.EncodeToString([]byte(g.p.ClientID+":"+clientSecret)))
	session := "refresh_margin = \"69s\"\n"
	if c.redis {
		pw := randomSecret(t)
		g.w.secret("redis password", pw)
		g.rs = startRedis(t, false, "--requirepass", pw)
		session += redisSession(g.rs.URL()) + "redis_password = \"" + pw + "\"\n"
	}
	g.cfg = tomlConfig{Provider: oidcProvider(g.p.Issuer, g.p.ClientID, clientSecret), Session: session,
		Secrets: []string{secret, old}, Upstream: g.up.URL,
		Server: "trusted_proxies = [\"127.0.0.1\"]\nshutdown_delay = \"0s\"\n",
		Extra: "[headers]\naccess_token = \"X-Access-Token\"\nassertion_key_file = \"" + g.assertionKey() + "\"\n" +
			"[log]\n" + c.log, Routes: demoRoutes + `
[[routes]]
path = "/deny/**"
deny = true

[[routes]]
path = "/**"
`}.String()
	env := []string{"OTEL_TRACES_EXPORTER=console", "OTEL_BSP_SCHEDULE_DELAY=100"}
	g.gw = startGatewayEnv(t, g.a, g.cfg, env)
	g.gw.waitReady(t)
	g.http = g.client(nil)
	return g
}

// quietUpstream records what it gets, as newUpstream's does, and answers
// "ok": an echo of its headers would make the upstream's answer look like
// the gateway's.
func quietUpstream(tb testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Method: r.Method, Path: r.URL.EscapedPath(), Headers: r.Header.Clone()})
		u.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	tb.Cleanup(u.Close)
	return u
}

// client is an HTTP client through the leakRecorder, with jar (nil: none) and
// without following redirects unless it has a jar.
func (g *gauntlet) client(jar http.CookieJar) *http.Client {
	c := &http.Client{Timeout: 20 * time.Second, Jar: jar, Transport: &leakRecorder{tb: g.t, w: g.w,
		host: strings.TrimPrefix(g.gw.URL, "http://"), issuer: g.p.Issuer, next: clientTransport}}
	if jar == nil {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// assertionKey writes a fresh P-256 key for the signed assertion and
// registers its private parts as secrets.
func (g *gauntlet) assertionKey() string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		g.t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		g.t.Fatal(err)
	}
	g.w.secret("assertion key (DER, base64)", base64.StdEncoding.EncodeToString(der))
	d, err := k.Bytes() // the 32-byte scalar, as a JWK's d holds it
	if err != nil {
		g.t.Fatal(err)
	}
	g.w.secret("assertion key d (JWK)", base64.RawURLEncoding.EncodeToString(d))
	path := filepath.Join(g.dir, "assertion.pem")
	block := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	for _, line := range strings.Split(string(block), "\n") {
		g.w.secret("assertion key PEM line", line)
	}
	if err := os.WriteFile(path, block, 0o600); err != nil {
		g.t.Fatal(err)
	}
	return path
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomSecret32(t *testing.T) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// do sends one request through the leakRecorder; hdr are its headers.
func (g *gauntlet) do(c *http.Client, method, path string, body io.Reader, hdr ...string) int {
	g.t.Helper()
	req, err := http.NewRequest(method, g.gw.URL+path, body)
	if err != nil {
		g.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// signIn signs a new browser in and returns it.
func (g *gauntlet) signIn() *http.Client {
	g.t.Helper()
	c := g.client(newJar(g.t))
	q := randomSecret(g.t)
	g.w.query("query-string secret", q)
	if s := g.do(c, "GET", "/app/home?token="+q, nil, "Accept", "text/html"); s != 200 {
		g.t.Fatalf("sign-in: %d\n%s", s, g.gw.Proc.Output())
	}
	return c
}

func newJar(t *testing.T) http.CookieJar { return browser(t).Jar }

func (g *gauntlet) run() {
	c := g.signIn()
	g.callbackErrors()
	g.refresh(c)
	g.bearer()
	g.forwardAuth(c)
	g.hostile(c)
	g.reload()
	g.commands() // sessions list while alice's session lives
	g.backchannel()
	if g.c.redis {
		g.redisDown(c)
	}
	g.do(c, "GET", "/oauth2/sign_out?rd=/public/x", nil, "Accept", "text/html")
	g.providerDown()
	g.collect()
}
