package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// forwardAuthConfig is a gateway whose public URL is the front proxy's.
func forwardAuthConfig(p *oidctest.Provider, publicURL, upstreamURL, trusted string) string {
	return forwardAuthTOML(p, publicURL, upstreamURL, trusted).String()
}

// forwardAuthTOML is forwardAuthConfig before it is written out.
func forwardAuthTOML(p *oidctest.Provider, publicURL, upstreamURL, trusted string) tomlConfig {
	return tomlConfig{
		PublicURL: publicURL,
		Server:    "trusted_proxies = [\"" + trusted + "\"]\n",
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  upstreamURL,
		Routes: `
# A host a hostile client would like its requests judged as.
[[routes]]
host = "public.test"
path = "/**"
public = true
` + demoRoutes + `
[[routes]]
path = "/api/**"
methods = ["POST"]
require_scopes = ["api:write"]

[[routes]]
path = "/res/**"
methods = ["GET"]
public = true

[[routes]]
path = "/res/**"
methods = ["POST", "PUT", "PATCH", "DELETE"]
allow_groups = ["writers"]

[[routes]]
path = "/**"
`}
}

// legacyNginxServer is the nginx snippet the README showed before the
// forward-auth header contract: it sets X-Original-URL and
// X-Forwarded-Method but passes the client's X-Forwarded-Uri through.
// TestForwardAuthLegacyNginxSnippet checks that the gateway refuses what a
// client can do through it.
// Its format arguments are the listen, gateway and app addresses.
const legacyNginxServer = `
  server {
    listen %[1]s;
    # The gateway trusts only 127.0.0.2: nginx talks to it from there.
    proxy_bind 127.0.0.2;
    location = /oauth2/auth {
      internal;
      proxy_pass http://%[2]s;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
    }
    location /oauth2/ {
      proxy_pass http://%[2]s;
      proxy_set_header Host $http_host;
    }
    location / {
      auth_request /oauth2/auth;
      error_page 401 = @login;
      auth_request_set $user $upstream_http_x_auth_request_user;
      auth_request_set $groups $upstream_http_x_auth_request_groups;
      auth_request_set $assertion $upstream_http_x_portcullis_jwt_assertion;
      proxy_set_header X-Forwarded-User $user;
      proxy_set_header X-Forwarded-Groups $groups;
      proxy_set_header X-Portcullis-Jwt-Assertion $assertion;
      proxy_pass http://%[3]s;
    }
    location @login {
      return 302 /oauth2/start?rd=$scheme://$http_host$request_uri;
    }
  }
`

// nginxMain wraps a server block into a configuration nginx runs as the
// test's user, in dir.
const nginxMain = `
daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s
}
`

// snippet reads a documented front-proxy configuration and puts the test's
// addresses in place of the documented ones (pairs of old, new); every old
// one must be in the file, so a changed snippet cannot silently stop being
// tested.
func snippet(tb testing.TB, name string, pairs ...string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", name))
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(string(b), pairs[i]) {
			tb.Fatalf("docs/forward-auth/%s no longer contains %q", name, pairs[i])
		}
	}
	return strings.NewReplacer(pairs...).Replace(string(b))
}

// runNginx runs nginx on a server block until the test ends. nginx talks to
// the gateway from 127.0.0.2 (proxy_bind), the one trusted proxy, so that
// the test's own requests to the gateway come from an untrusted peer.
func runNginx(tb testing.TB, listen, server string) {
	tb.Helper()
	bin := testenv.LookPath(tb, "nginx")
	dir := tb.TempDir()
	// nginx's workers run as nobody when the tests run as root, and must
	// reach the temp paths (a request body over 16k goes to body/).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxMain, dir, server)), 0o644); err != nil {
		tb.Fatal(err)
	}
	p := testenv.Start(tb, exec.Command(bin, "-p", dir, "-c", conf))
	testenv.WaitTCP(tb, listen, 10*time.Second, p)
}

// frontSetup is an app, a test provider, the gateway in forward-auth mode
// and a front proxy before the app that asks the gateway.
type frontSetup struct {
	up    *upstream
	p     *oidctest.Provider
	gw    *gateway
	front string // the front proxy's address
}

// behindFront starts the app, the provider, the gateway (its public URL the
// front proxy's, trusting forwarded headers from the addresses trusted) and
// then the front proxy, with start: startNginx, startCaddy and the like,
// which take the front's address, the gateway's and the app's.
func behindFront(t *testing.T, trusted string, start func(tb testing.TB, listen, gateway, app string)) frontSetup {
	t.Helper()
	return behindFrontWith(t, trusted, start, oidctest.Options{}, "")
}

// behindFrontWith is behindFront with the provider's options and more
// [session] keys.
func behindFrontWith(t *testing.T, trusted string, start func(tb testing.TB, listen, gateway, app string),
	opts oidctest.Options, sessionKeys string) frontSetup {
	t.Helper()
	s := frontSetup{up: newUpstream(t), p: oidctest.New(t, opts), front: testenv.Addr(testenv.FreePort(t))}
	a := pickAddrs(t)
	cfg := forwardAuthTOML(s.p, "http://"+s.front, s.up.URL, trusted)
	cfg.Session = sessionKeys
	s.gw = startGateway(t, a, cfg.String())
	start(t, s.front, a.Listen, strings.TrimPrefix(s.up.URL, "http://"))
	return s
}

// startNginx runs docs/forward-auth/nginx.conf.
func startNginx(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	host, _, _ := strings.Cut(listen, ":")
	runNginx(tb, listen, snippet(tb, "nginx.conf",
		"listen 80;", "listen "+listen+";\n    proxy_bind 127.0.0.2;",
		"server_name dash.example.com;", "server_name "+host+";",
		"127.0.0.1:4180", gateway, "127.0.0.1:3000", app))
}

// startCaddy runs docs/forward-auth/Caddyfile.
func startCaddy(tb testing.TB, listen, gateway, app string) {
	runCaddy(tb, listen, "dash.example.com {", "http://"+listen+" {", "127.0.0.1:4180", gateway, "127.0.0.1:3000", app)
}

// runCaddy runs docs/forward-auth/Caddyfile with the replacements (old, new
// pairs, as snippet takes them), without its admin API or automatic HTTPS.
func runCaddy(tb testing.TB, listen string, replacements ...string) {
	tb.Helper()
	bin := testenv.LookPath(tb, "caddy")
	dir := tb.TempDir()
	conf := filepath.Join(dir, "Caddyfile")
	text := "{\n\tadmin off\n\tauto_https off\n}\n" + snippet(tb, "Caddyfile", replacements...)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", conf, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	p := testenv.Start(tb, cmd)
	testenv.WaitTCP(tb, listen, 15*time.Second, p)
}

// frontProxyCase drives a login and per-route decisions through a front
// proxy that asks the gateway's forward-auth endpoint.
func frontProxyCase(t *testing.T, front string, userHeader string, p *oidctest.Provider, up *upstream, gw *gateway) {
	signInOnlyOnNavigation(t, front, up)
	c := browser(t)
	// The login returns to the original query as it was: a second
	// parameter, a '+' and escaped reserved characters included.
	const query = "q=1&r=a+b%26c%2Fd%3D"
	status, body, resp := get(t, c, front+"/hello?"+query)
	if status != 200 {
		t.Fatalf("login through the front proxy: %d at %s\n%s\ngateway:\n%s", status, resp.Request.URL, body, gw.Proc.Output())
	}
	s := decodeSeen(t, body)
	if s.Query != query {
		t.Errorf("the login returned to query %q, want %q", s.Query, query)
	}
	if got := s.Headers.Get(userHeader); got != "alice" {
		t.Errorf("%s = %q, want alice", userHeader, got)
	}
	if s.Headers.Get("X-Portcullis-Jwt-Assertion") == "" {
		t.Error("assertion not passed through")
	}
	if s.Path != "/hello" {
		t.Errorf("app saw path %q", s.Path)
	}

	// Public route: no login needed, even for a fresh client.
	status, _, _ = get(t, browser(t), front+"/public/x")
	if status != 200 {
		t.Errorf("public route: %d", status)
	}
	// Scope rule: the session lacks api:write; an API call is refused with 403.
	if st := apiStatus(t, c, "POST", front+"/api/things", strings.NewReader("{}")); st != 403 {
		t.Errorf("POST /api/things without api:write: %d, want 403", st)
	}
	// A non-admin is refused on /admin.
	p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []any{"staff"}}})
	bob := browser(t)
	before := up.count()
	status, _, _ = get(t, bob, front+"/admin/panel")
	if status != 403 {
		t.Errorf("bob on /admin/panel: %d, want 403", status)
	}
	if up.count() != before {
		t.Error("the app was reached on a denied request")
	}
}

func TestForwardAuthNginx(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startNginx)
	frontProxyCase(t, "http://"+s.front, "X-Forwarded-User", s.p, s.up, s.gw)
	hostileCase(t, "http://"+s.front, "X-Forwarded-User", s.p, s.up)

	// Straight to the gateway from an untrusted peer: refused whatever the headers say.
	req, _ := http.NewRequest("GET", s.gw.URL+"/oauth2/auth", nil)
	req.Header.Set("X-Original-URL", "http://"+s.front+"/public/x")
	resp, err := plainClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), "untrusted_proxy") {
		t.Errorf("untrusted peer: %d %s", resp.StatusCode, b)
	}
}

func TestForwardAuthCaddy(t *testing.T) {
	s := behindFront(t, "127.0.0.1/32", startCaddy)
	frontProxyCase(t, "http://"+s.front, "X-Forwarded-User", s.p, s.up, s.gw)
	hostileCase(t, "http://"+s.front, "X-Forwarded-User", s.p, s.up)
}

// signInOnlyOnNavigation checks that, without a session, only a browser's
// navigation is sent to sign in, as in proxy mode: a page's fetch of HTML
// (Sec-Fetch-Mode: cors) and a form's POST get a 401 through the front
// proxy. Sent to start, the fetch failed cross-origin at the provider with
// no status (a login-state cookie each time), and the POST lost its body.
func signInOnlyOnNavigation(t *testing.T, front string, up *upstream) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second, Transport: clientTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, mode string) (*http.Response, string) {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader("note=" + strings.Repeat("x", 64<<10))
		}
		req, _ := http.NewRequest(method, front+"/hello?a=1", body)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Mode", mode)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	before := up.count()
	// A navigation: nginx and Caddy redirect, Traefik hands on the
	// gateway's page, which goes to start at once.
	resp, body := send("GET", "navigate")
	nav := strings.Contains(resp.Header.Get("Location"), "/oauth2/start?rd=") ||
		resp.StatusCode == 401 && metaRefresh.MatchString(body)
	if !nav {
		t.Errorf("navigation without a session: %d, Location %q, not sent to sign in\n%s",
			resp.StatusCode, resp.Header.Get("Location"), body)
	}
	for _, m := range []struct{ method, mode string }{{"GET", "cors"}, {"HEAD", "no-cors"}, {"POST", "navigate"}} {
		resp, body = send(m.method, m.mode)
		if resp.StatusCode != 401 || resp.Header.Get("Location") != "" || metaRefresh.MatchString(body) {
			t.Errorf("%s with Sec-Fetch-Mode %s without a session: %d, Location %q, want a 401 that goes nowhere\n%s",
				m.method, m.mode, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	// The POST gets the gateway's page: it offers a sign-in, back to the page.
	if !strings.Contains(body, "/oauth2/start?rd=") {
		t.Errorf("the POST's 401 offers no sign-in:\n%s", body)
	}
	if up.count() != before {
		t.Error("the app was reached without a session")
	}
}
