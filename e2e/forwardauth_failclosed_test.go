package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestForwardAuthGatewayDownFailsClosed: with the gateway stopped, each
// documented front proxy refuses every request of the app's host with a
// 5xx, a signed-in browser's, an anonymous one's and a public route's
// alike (the front proxy cannot know which routes are public), and the app
// receives none of them.
func TestForwardAuthGatewayDownFailsClosed(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			alice := browser(t)
			if status, body, _ := get(t, alice, "http://"+s.front+"/hello"); status != 200 {
				t.Fatalf("login: %d %s", status, body)
			}
			s.gw.Proc.Stop()
			before := s.up.count()
			for _, c := range []struct {
				who    string
				method string
				path   string
			}{{"alice", "GET", "/hello"}, {"alice", "DELETE", "/admin/secret"}, {"anonymous", "GET", "/hello"},
				{"anonymous", "GET", "/public/x"}, {"anonymous", "DELETE", "/admin/secret"}} {
				client := alice
				if c.who == "anonymous" {
					client = browser(t)
				}
				if status, _ := send(t, client, c.method, "http://"+s.front+c.path, nil); status < 500 {
					t.Errorf("%s %s %s with the gateway down: %d, want a 5xx", c.who, c.method, c.path, status)
				}
			}
			if n := s.up.count() - before; n != 0 {
				t.Errorf("the app received %d requests while the gateway was down (last: %s %s)", n, s.up.last().Method, s.up.last().Path)
			}
		})
	}
}

// TestForwardAuthNginxCacheStoresNoAnswer: an operator who adds nginx's
// proxy_cache to the snippet's auth location, with nginx's default key
// (which names the original request's URI but no credential) and a
// validity for every status, gets no answer reused: the gateway's
// Cache-Control: no-store keeps nginx from storing alice's 200, which would
// let in an anonymous client and bob as alice.
func TestForwardAuthNginxCacheStoresNoAnswer(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	addr := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+addr, up.URL, "127.0.0.2/32"))
	// In /tmp, open to nginx's worker, which runs as another user under root.
	cache, err := os.MkdirTemp("", "portcullis-authcache")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(cache) })
	if err := os.Chmod(cache, 0o777); err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(addr, ":")
	runNginx(t, addr, "proxy_cache_path "+cache+" keys_zone=auth:1m use_temp_path=off;\n"+snippet(t, "nginx.conf",
		"listen 80;", "listen "+addr+";\n    proxy_bind 127.0.0.2;",
		"server_name dash.example.com;", "server_name "+host+";",
		"proxy_pass_request_body off;", "proxy_pass_request_body off;\n        proxy_cache auth;\n        proxy_cache_valid any 5m;",
		"127.0.0.1:4180", a.Listen, "127.0.0.1:3000", strings.TrimPrefix(up.URL, "http://")))
	alice := browser(t)
	for range 2 {
		if status, body, _ := get(t, alice, "http://"+addr+"/admin/secret"); status != 200 {
			t.Fatalf("alice on /admin/secret: %d %s", status, body)
		}
	}
	before := up.count()
	if status, _ := send(t, browser(t), "GET", "http://"+addr+"/admin/secret", nil); status == 200 || up.count() != before {
		t.Errorf("anonymous GET /admin/secret after alice's: %d, the app reached as %q", status, up.last().Headers.Get("X-Forwarded-User"))
	}
	p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []any{"staff"}}})
	bob := browser(t)
	if status, body, _ := get(t, bob, "http://"+addr+"/hello"); status != 200 {
		t.Fatalf("bob's login: %d %s", status, body)
	}
	before = up.count()
	if status, _ := send(t, bob, "GET", "http://"+addr+"/admin/secret", nil); status != 403 || up.count() != before {
		t.Errorf("bob's GET /admin/secret after alice's: %d, the app reached as %q", status, up.last().Headers.Get("X-Forwarded-User"))
	}
}
