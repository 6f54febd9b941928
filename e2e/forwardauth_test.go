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
	return tomlConfig{
		PublicURL: publicURL,
		Server:    "trusted_proxies = [\"" + trusted + "\"]\n",
		Provider:  oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream:  upstreamURL,
		Routes: demoRoutes + `
[[routes]]
path = "/api/**"
methods = ["POST"]
require_scopes = ["api:write"]

[[routes]]
path = "/**"
`}.String()
}

const nginxConf = `
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
  server {
    listen %[2]s;
    # The gateway trusts only 127.0.0.2: nginx talks to it from there.
    proxy_bind 127.0.0.2;
    location = /oauth2/auth {
      internal;
      proxy_pass http://%[3]s;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-Method $request_method;
    }
    location /oauth2/ {
      proxy_pass http://%[3]s;
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
      proxy_pass http://%[4]s;
    }
    location @login {
      return 302 /oauth2/start?rd=$scheme://$http_host$request_uri;
    }
  }
}
`

func startNginx(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	bin := testenv.LookPath(tb, "nginx")
	dir := tb.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, listen, gateway, app)), 0o644); err != nil {
		tb.Fatal(err)
	}
	p := testenv.Start(tb, exec.Command(bin, "-p", dir, "-c", conf))
	testenv.WaitTCP(tb, listen, 10*time.Second, p)
}

const caddyfile = `{
	admin off
	auto_https off
}
http://%[1]s {
	handle /oauth2/* {
		reverse_proxy %[2]s
	}
	handle {
		forward_auth %[2]s {
			uri /oauth2/auth
			copy_headers X-Auth-Request-User X-Auth-Request-Groups X-Portcullis-Jwt-Assertion
			@unauthorized status 401
			handle_response @unauthorized {
				redir * /oauth2/start?rd={scheme}://{hostport}{uri}
			}
		}
		reverse_proxy %[3]s
	}
}
`

func startCaddy(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	bin := testenv.LookPath(tb, "caddy")
	dir := tb.TempDir()
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(caddyfile, listen, gateway, app)), 0o644); err != nil {
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
	c := browser(t)
	status, body, resp := get(t, c, front+"/hello?q=1")
	if status != 200 {
		t.Fatalf("login through the front proxy: %d at %s\n%s\ngateway:\n%s", status, resp.Request.URL, body, gw.Proc.Output())
	}
	s := decodeSeen(t, body)
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
	req, _ := http.NewRequest("POST", front+"/api/things", strings.NewReader("{}"))
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("POST /api/things without api:write: %d, want 403", resp.StatusCode)
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
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	gw := startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.2/32"))
	startNginx(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	frontProxyCase(t, "http://"+front, "X-Forwarded-User", p, up, gw)

	// Straight to the gateway from an untrusted peer: refused whatever the headers say.
	req, _ := http.NewRequest("GET", gw.URL+"/oauth2/auth", nil)
	req.Header.Set("X-Original-URL", "http://"+front+"/public/x")
	resp, err := http.DefaultClient.Do(req)
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
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	gw := startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.1/32"))
	startCaddy(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	frontProxyCase(t, "http://"+front, "X-Auth-Request-User", p, up, gw)
}
