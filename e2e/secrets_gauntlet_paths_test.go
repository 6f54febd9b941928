package e2e

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// The paths the gauntlet drives, each a few requests whose answers the
// recorder keeps; the logs, spans and command output are read at the end.

// manualSignIn goes to the provider and back by hand and returns the
// callback URL it was sent to (to replay), the browser and the status.
func (g *gauntlet) manualSignIn(fault oidctest.Fault) (string, int) {
	g.t.Helper()
	c := g.client(nil)
	c.Jar = newJar(g.t)
	resp, err := c.Get(g.gw.URL + "/oauth2/start?rd=/app/after")
	if err != nil || resp.StatusCode != http.StatusFound {
		g.t.Fatalf("start: %v %v", resp, err)
	}
	resp.Body.Close()
	back, err := c.Get(resp.Header.Get("Location"))
	if err != nil || back.StatusCode != http.StatusFound {
		g.t.Fatalf("authorize: %v %v", back, err)
	}
	back.Body.Close()
	callback := back.Header.Get("Location")
	g.p.SetFaults(fault)
	defer g.p.SetFaults(0)
	resp, err = c.Get(callback)
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	return callback, resp.StatusCode
}

func (g *gauntlet) callbackErrors() {
	g.t.Helper()
	callback, status := g.manualSignIn(0)
	if status != http.StatusFound {
		g.t.Errorf("a sign-in by hand: %d", status)
	}
	u := mustURL(g.t, callback)
	g.do(g.http, "GET", u.RequestURI(), nil, "Accept", "text/html") // replayed code, no login-state cookie
	for _, f := range []oidctest.Fault{oidctest.FaultServerError, oidctest.FaultWrongNonce, oidctest.FaultBadSignature,
		oidctest.FaultEchoingErrors, oidctest.FaultEchoingRedirect} {
		if _, status := g.manualSignIn(f); status < 400 {
			g.t.Errorf("a sign-in under fault %d: %d", f, status)
		}
	}
	forged, state := randomSecret(g.t), randomSecret(g.t)
	g.w.secret("forged code", forged)
	g.w.secret("forged state", state)
	g.do(g.http, "GET", "/oauth2/callback?code="+forged+"&state="+state, nil, "Accept", "text/html")
	g.do(g.http, "GET", "/oauth2/callback?error=access_denied&error_description=no+way&state="+state, nil)
}

// refresh lets the access token near its expiry (it lives 70 s, the margin
// is 69 s) so that the next request refreshes it, then has the provider
// fail one refresh and, with cookies, refuse an old refresh token.
func (g *gauntlet) refresh(c *http.Client) {
	g.t.Helper()
	before := c.Jar.Cookies(mustURL(g.t, g.gw.URL))
	time.Sleep(1100 * time.Millisecond)
	if s := g.do(c, "GET", "/app/refreshed", nil); s != 200 {
		g.t.Errorf("a request that refreshes: %d", s)
	}
	old := g.client(nil)
	hdr := []string{}
	for _, ck := range before {
		hdr = append(hdr, "Cookie", ck.Name+"="+ck.Value)
	}
	g.do(old, "GET", "/app/old-refresh-token", nil, hdr...)
	for _, f := range []oidctest.Fault{oidctest.FaultEchoingErrors, oidctest.FaultEchoingRedirect, oidctest.FaultServerError} {
		time.Sleep(1100 * time.Millisecond)
		g.p.SetFaults(f)
		g.do(c, "GET", "/app/refresh-fails", nil)
		g.p.SetFaults(0)
	}
}

func (g *gauntlet) bearer() {
	g.t.Helper()
	p := g.p
	now := time.Now()
	forged := p.Sign(map[string]any{"iss": p.Issuer, "sub": "alice", "aud": p.ClientID,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix()},
		oidctest.SignOptions{Typ: "at+jwt", Key: oidctest.NewUnpublishedKey(g.t, "forged", "RS256")})
	g.w.secret("forged bearer token", forged)
	unknown := randomSecret(g.t)
	g.w.secret("unknown opaque token", unknown)
	tokens := []string{
		p.AccessToken("alice", nil),
		p.AccessToken("alice", map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}),
		p.AccessToken("alice", map[string]any{"aud": "another-api"}),
		forged,
		p.OpaqueToken("alice", p.ClientID, "openid", now.Add(time.Hour)),
		unknown,
	}
	for _, tok := range tokens {
		g.presented[tok] = true
		for _, path := range []string{"/app/api", "/admin/api", "/deny/api", "/public/api"} {
			g.do(g.http, "GET", path, nil, "Authorization", "Bearer "+tok, "Accept", "application/json")
		}
	}
	// Introspection answered by a redirect that echoes the token.
	p.SetFaults(oidctest.FaultEchoingRedirect)
	g.do(g.http, "GET", "/app/api", nil, "Authorization", "Bearer "+p.OpaqueToken("alice", p.ClientID, "openid", now.Add(time.Hour)))
	p.SetFaults(0)
	inURL := p.AccessToken("alice", nil)
	g.do(g.http, "GET", "/app/api?access_token="+inURL, nil)
	g.do(g.http, "POST", "/app/api", strings.NewReader("access_token="+inURL),
		"Content-Type", "application/x-www-form-urlencoded")
}

func (g *gauntlet) forwardAuth(c *http.Client) {
	g.t.Helper()
	q := randomSecret(g.t)
	g.w.query("forward-auth query secret", q)
	host := strings.TrimPrefix(g.gw.URL, "http://")
	for _, path := range []string{"/app/fa?code=" + q, "/deny/fa?state=" + q, "/admin/fa"} {
		hdr := []string{"X-Forwarded-Method", "GET", "X-Forwarded-Proto", "http", "X-Forwarded-Host", host,
			"X-Forwarded-Uri", path, "Accept", "text/html"}
		g.do(c, "GET", "/oauth2/auth", nil, hdr...)
		g.do(g.http, "GET", "/oauth2/auth", nil, hdr...)
		g.do(g.http, "GET", "/oauth2/auth", nil, append(hdr, "Authorization", "Bearer "+g.p.AccessToken("alice", nil))...)
	}
	if s := g.do(c, "GET", "/oauth2/userinfo", nil); s != 200 {
		g.t.Errorf("userinfo: %d", s)
	}
}

// hostile sends the session cookie cut short, with a chunk changed, twice,
// and in requests the HTTP server refuses before the gateway sees them.
func (g *gauntlet) hostile(c *http.Client) {
	g.t.Helper()
	cks := c.Jar.Cookies(mustURL(g.t, g.gw.URL))
	if !g.c.redis && len(cks) < 2 {
		g.t.Errorf("the cookie store's session is in %d cookie(s), want chunks", len(cks))
	}
	for _, ck := range cks {
		v := ck.Value
		for _, bad := range []string{v[:len(v)/2], v[:len(v)-1] + "A", v + "; " + ck.Name + "=" + v, "%" + v} {
			g.do(g.http, "GET", "/app/hostile", nil, "Cookie", ck.Name+"="+bad)
		}
	}
	raw := []string{
		"GET /app/\x00 HTTP/1.1\r\nHost: h\r\nCookie: " + cookieHeader(cks) + "\r\n\r\n",
		"GET /app/x HTTP/1.1\r\nHost: h\r\nCookie: " + cookieHeader(cks) + "\r\nBad Header: " + cookieHeader(cks) + "\r\n\r\n",
		"GET /app/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer " + g.p.AccessToken("alice", nil) + "\x7f\r\n\r\n",
		"\x16\x03\x01" + cookieHeader(cks) + "\r\n\r\n",
	}
	for _, r := range raw {
		g.rawRequest(r)
	}
}

func cookieHeader(cks []*http.Cookie) string {
	var b []string
	for _, ck := range cks {
		b = append(b, ck.Name+"="+ck.Value)
	}
	return strings.Join(b, "; ")
}

// rawRequest writes r on a connection of its own and records the answer.
func (g *gauntlet) rawRequest(r string) {
	g.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.gw.URL, "http://"))
	if err != nil {
		g.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte(r))
	var b strings.Builder
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			break
		}
	}
	g.w.out("raw answer to "+strings.SplitN(r, "\r", 2)[0], b.String(), false)
}

func (g *gauntlet) backchannel() {
	g.t.Helper()
	lt := g.p.LogoutToken("alice", "sid-alice", nil)
	bad := g.p.LogoutToken("alice", "sid-alice", map[string]any{"aud": "another-client"})
	for _, tok := range []string{lt, lt, bad} {
		g.do(g.http, "POST", "/oauth2/backchannel_logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
	}
}

// badConfig is the good configuration with secrets that are refused: the
// problems must name them without quoting them.
func (g *gauntlet) badConfig() string {
	g.t.Helper()
	short, ctl := randomSecret(g.t)[:31], randomSecret(g.t)
	pw := randomSecret(g.t)
	g.w.secret("refused session secret", short)
	g.w.secret("refused client secret", ctl)
	g.w.secret("password in a refused redis_url", pw)
	cfg := strings.NewReplacer("{{LISTEN}}", g.a.Listen, "{{OPS}}", g.a.Ops).Replace(g.cfg)
	cfg = strings.Replace(cfg, "secrets = [", "secrets = [\""+short+"!\", ", 1)
	cfg = strings.Replace(cfg, "client_secret = \"", "client_secret = \""+ctl+"\\u0007", 1)
	cfg = strings.Replace(cfg, "[session]\n", "[session]\nredis_cluster_addrs = [\":"+pw+"@127.0.0.1:1\"]\n", 1)
	path := filepath.Join(g.dir, "bad.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		g.t.Fatal(err)
	}
	return path
}

func (g *gauntlet) reload() {
	g.t.Helper()
	good, err := os.ReadFile(g.gw.configPath())
	if err != nil {
		g.t.Fatal(err)
	}
	bad, err := os.ReadFile(g.badConfig())
	if err != nil {
		g.t.Fatal(err)
	}
	g.gw.signal(g.t, syscall.SIGHUP)
	g.gw.waitOutput(g.t, "config reloaded", 1)
	os.WriteFile(g.gw.configPath(), bad, 0o600)
	g.gw.signal(g.t, syscall.SIGHUP)
	for deadline := time.Now().Add(10 * time.Second); metricValue(g.t, g.gw, "portcullis_config_last_reload_successful") != 0; {
		if time.Now().After(deadline) {
			g.t.Fatalf("the bad reload was not refused:\n%s", g.gw.Proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.WriteFile(g.gw.configPath(), good, 0o600)
	g.gw.signal(g.t, syscall.SIGHUP)
	g.gw.waitOutput(g.t, "config reloaded", 2)
}

func (g *gauntlet) commands() {
	g.t.Helper()
	good, bad := g.gw.configPath(), filepath.Join(g.dir, "bad.toml")
	runs := [][]string{
		{"check", "--config", good}, {"check", "--config", bad}, {"check", "--strict", "--config", bad},
		{"check", "--config", good, "--request", "GET " + g.gw.URL + "/admin/x?code=" + randomSecret(g.t),
			"--identity", "sub=alice", "--identity", "groups=admins"},
	}
	if g.c.redis {
		runs = append(runs, []string{"sessions", "list", "--config", good},
			[]string{"sessions", "list", "--config", bad},
			[]string{"sessions", "revoke", "--config", good, "--sub", "nobody"})
	}
	for _, args := range runs {
		out, _ := exec.Command(binary, args...).CombinedOutput()
		g.w.out("portcullis "+strings.Join(args[:2], " "), string(out), true)
		if args[1] == "list" && args[3] == good && !strings.Contains(string(out), "alice@example.com") {
			g.t.Errorf("sessions list shows no session of alice's:\n%s", out)
		}
	}
}

// redisDown stops Redis under a signed-in browser and starts it again.
func (g *gauntlet) redisDown(c *http.Client) {
	g.t.Helper()
	g.rs.Stop()
	if s := g.do(c, "GET", "/app/redis-down", nil); s != http.StatusServiceUnavailable {
		g.t.Errorf("with Redis down: %d, want 503", s)
	}
	g.opsPage("/readyz")
	g.rs.Start()
	g.gw.waitReady(g.t)
}

// providerDown closes the provider under a browser whose session must
// refresh and a bearer token that needs introspection.
func (g *gauntlet) providerDown() {
	g.t.Helper()
	c := g.signIn()
	time.Sleep(1100 * time.Millisecond)
	tok := g.p.OpaqueToken("alice", g.p.ClientID, "openid", time.Now().Add(time.Hour))
	g.p.Server.Close()
	g.do(c, "GET", "/app/provider-down", nil)
	g.do(g.http, "GET", "/app/provider-down", nil, "Authorization", "Bearer "+tok)
	g.do(g.http, "GET", "/app/new-sign-in", nil, "Accept", "text/html")
}

func (g *gauntlet) opsPage(path string) {
	g.t.Helper()
	resp, err := plainClient.Get(g.gw.OpsURL + path)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	resp.Header.Write(&b)
	buf := make([]byte, 1<<20)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	g.w.out("ops "+path, b.String(), true)
}

// collect reads the outputs read at the end: the ops pages, the headers
// the upstream got, and (after a clean exit) the logs and spans.
func (g *gauntlet) collect() {
	g.t.Helper()
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		g.opsPage(path)
	}
	g.do(g.http, "GET", "/oauth2/healthz", nil)
	g.do(g.http, "GET", "/oauth2/jwks.json", nil)
	minted := map[string]bool{}
	for _, v := range g.p.Minted() {
		g.w.secret("issued by the provider", v)
		minted[v] = true
	}
	g.upstreamHeaders(minted)
	g.gw.signal(g.t, syscall.SIGTERM)
	select {
	case <-g.gw.Proc.Exited():
	case <-time.After(15 * time.Second):
		g.t.Fatalf("no exit after SIGTERM")
	}
	g.w.out("gateway logs and spans", g.gw.Proc.Output(), true)
}

// upstreamHeaders records what the upstream got: the access token only in
// X-Access-Token (the configured header), the assertion's claims decoded.
func (g *gauntlet) upstreamHeaders(minted map[string]bool) {
	g.t.Helper()
	g.up.mu.Lock()
	reqs := append([]seen(nil), g.up.reqs...)
	g.up.mu.Unlock()
	for _, s := range reqs {
		h := s.Headers.Clone()
		// The client's own Referer, passed on: Go's client follows the
		// callback's redirect with it, where a browser obeys the
		// callback's Referrer-Policy: no-referrer.
		h.Del("Referer")
		if tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer "); ok && g.presented[tok] {
			h.Del("Authorization")
		}
		if at := h.Get("X-Access-Token"); at != "" {
			if !minted[at] {
				g.t.Errorf("the upstream got an X-Access-Token the provider never issued: %.20q", at)
			}
			h.Del("X-Access-Token")
			g.w.out("upstream X-Access-Token for "+s.Path, at, false, at)
		}
		text := new(strings.Builder)
		h.Write(text)
		if parts := strings.Split(h.Get("X-Portcullis-Jwt-Assertion"), "."); len(parts) == 3 {
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			text.Write(claims)
		}
		g.w.out("upstream request "+s.Method+" "+s.Path, text.String(), false)
	}
}
