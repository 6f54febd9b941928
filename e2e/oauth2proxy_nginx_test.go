package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// oauth2ProxyNginxServer is the nginx server block a team ran in front of
// oauth2-proxy (auth_request to /oauth2/auth with Host and X-Forwarded-Uri,
// a 401 sent to sign in, the X-Auth-Request-* answer headers passed to the
// app), pointed at the gateway's address and nothing else changed. It
// names neither the method nor the host in the subrequest, so the client's
// own X-Forwarded-Method and X-Forwarded-Host reach the gateway.
// Its format arguments are the listen, gateway and app addresses.
const oauth2ProxyNginxServer = `
  server {
    listen %[1]s;
    proxy_bind 127.0.0.2;
    location /oauth2/ {
      proxy_pass http://%[2]s;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
    }
    location = /oauth2/auth {
      proxy_pass http://%[2]s;
      proxy_set_header Host $host;
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header Content-Length "";
      proxy_pass_request_body off;
    }
    location / {
      auth_request /oauth2/auth;
      error_page 401 = @start;
      auth_request_set $user $upstream_http_x_auth_request_user;
      auth_request_set $email $upstream_http_x_auth_request_email;
      proxy_set_header X-Forwarded-User $user;
      proxy_set_header X-Forwarded-Email $email;
      auth_request_set $auth_cookie $upstream_http_set_cookie;
      add_header Set-Cookie $auth_cookie;
      proxy_pass http://%[3]s;
    }
    location @start {
      return 302 /oauth2/start?rd=$request_uri;
    }
  }
`

// TestForwardAuthOAuth2ProxyNginxUnchanged: an nginx configuration written
// for oauth2-proxy, only pointed at the gateway, passes the client's own
// X-Forwarded-Host and X-Forwarded-Method through the subrequest. Its
// subrequest's Host is the original's ($host), so an X-Forwarded-Host
// naming another host is refused (400) and the app never sees the request.
// Its subrequest's method is GET, as Caddy's and Traefik's are, so a
// client's X-Forwarded-Method cannot be told from theirs: that request is
// still judged as the client names it, which is why docs/oauth2-proxy.md
// says not to keep that file; this test keeps the warning true.
func TestForwardAuthOAuth2ProxyNginxUnchanged(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.2/32"))
	runNginx(t, front, fmt.Sprintf(oauth2ProxyNginxServer, front, a.Listen, strings.TrimPrefix(up.URL, "http://")))
	anon := browser(t)
	// Without a spoof, the anonymous write is sent to sign in (error_page).
	if status, _ := send(t, anon, "POST", "http://"+front+"/res/x", nil); status != 302 || up.count() != 0 {
		t.Fatalf("anonymous POST /res/x: %d, app reached %d times", status, up.count())
	}
	// public.test is a public host; GET on it is public too.
	for _, spoof := range []map[string]string{
		{"X-Forwarded-Host": "public.test"},
		{"X-Forwarded-Host": "PUBLIC.test:8080"},
		{"X-Forwarded-Host": "public.test", "X-Forwarded-Method": "GET"},
	} {
		for _, m := range []string{"POST", "GET", "HEAD", "OPTIONS"} {
			before := up.count()
			// nginx answers a failed auth_request with 500.
			if status, _ := send(t, anon, m, "http://"+front+"/res/x", spoof); status != 500 || up.count() != before {
				t.Errorf("anonymous %s /res/x with %v: %d, app reached: %v; want the subrequest refused",
					m, spoof, status, up.count() != before)
			}
		}
	}
	// Not refusable: nginx's subrequest is a GET whatever the original.
	before := up.count()
	if status, _ := send(t, anon, "POST", "http://"+front+"/res/x", map[string]string{"X-Forwarded-Method": "GET"}); status >= 300 || up.count() == before {
		t.Errorf("anonymous POST /res/x with X-Forwarded-Method: GET: %d; the gateway now refuses it: change docs/oauth2-proxy.md", status)
	}
}

// TestForwardAuthOAuth2ProxyNginxReturnHost: the same nginx configuration
// in front of an app whose host only allowed_redirect_hosts names (the
// routes serving it name no host; public_url is a sign-in host of its
// own). Its subrequest's Host ($host) is that app host, so a client's
// X-Forwarded-Host naming the public host contradicts it and is refused:
// it was believed, and an anonymous POST was judged on public.test and
// reached the app.
func TestForwardAuthOAuth2ProxyNginxReturnHost(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	cfg := strings.Replace(forwardAuthConfig(p, "http://auth.test", up.URL, "127.0.0.2/32"),
		"[server]\n", "[server]\nallowed_redirect_hosts = [\"dash.test\", \"*.apps.test\"]\n", 1)
	startGateway(t, a, cfg)
	runNginx(t, front, fmt.Sprintf(oauth2ProxyNginxServer, front, a.Listen, strings.TrimPrefix(up.URL, "http://")))
	for _, host := range []string{"dash.test", "DASH.test:8080", "dash.test.", "one.apps.test"} {
		for _, spoof := range []string{"public.test", "PUBLIC.test:8080"} {
			before := up.count()
			raw := "POST /res/x HTTP/1.1\r\nHost: " + host + "\r\nX-Forwarded-Host: " + spoof +
				"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
			// nginx answers a failed auth_request with 500.
			if status := rawStatus(t, front, raw); status != 500 || up.count() != before {
				t.Errorf("anonymous POST /res/x on %s with X-Forwarded-Host %s: %d, app reached: %v; want the subrequest refused",
					host, spoof, status, up.count() != before)
			}
		}
	}
	// Without a spoof the anonymous write is sent to sign in.
	if status := rawStatus(t, front, "POST /res/x HTTP/1.1\r\nHost: dash.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); status != 302 {
		t.Errorf("anonymous POST /res/x on dash.test: %d, want 302 (sign in)", status)
	}
}
