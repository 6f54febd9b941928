package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// spoofMark is in every identity header value a hostile client sends.
const spoofMark = "SPOOFED"

// identitySpoofs are identity header names in the spellings a client can
// send: every [headers] name, the assertion, a claims header, the
// access-token names and the forward-auth response names, in canonical,
// lower-case, upper-case and underscore forms (which CGI, WSGI and PHP read
// as the dashed name).
var identitySpoofs = []string{
	"X-Forwarded-User", "x-forwarded-user", "X_Forwarded_User", "x_forwarded_user",
	"X-Forwarded-Email", "X_FORWARDED_EMAIL", "X-Forwarded-Groups", "x_forwarded_groups",
	"X-Forwarded-Preferred-Username", "X-Forwarded-Tenant", "x_forwarded_tenant",
	"X-Portcullis-Jwt-Assertion", "x_portcullis_jwt_assertion",
	"X-Auth-Request-User", "X-AUTH-REQUEST-EMAIL", "x-auth-request-groups", "X_Auth_Request_User",
	// The access-token names proxy mode removes (oauth2-proxy's, which an
	// app moved from it reads); forward-auth never sends a token.
	"X-Forwarded-Access-Token", "x-auth-request-access-token",
}

// requestSpoofs are sets of headers with which a client names another
// request than the one it makes to path: a public path by GET, or its own
// path on a host whose every route is public (public.test).
func requestSpoofs(front, path string) []map[string]string {
	host := strings.TrimPrefix(front, "http://")
	all := map[string]string{
		"X-Forwarded-Uri": "/public/x", "X-Forwarded-Method": "GET", "X-Forwarded-Host": host,
		"X-Original-URL": front + "/public/x", "X-Original-URI": "/public/x", "X-Original-Method": "GET",
	}
	out := []map[string]string{nil, all,
		{"X-Forwarded-Host": "public.test", "X-Forwarded-Uri": path, "X-Forwarded-Method": "GET"},
		{"X-Original-URL": "http://public.test" + path},
		{"X-Forwarded-Host": "public.test"},
	}
	for k, v := range all {
		out = append(out, map[string]string{k: v})
	}
	return out
}

// send makes one request without following redirects; header names are
// sent exactly as spelled.
func send(tb testing.TB, c *http.Client, method, target string, hdr map[string]string) (int, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(`{"x":1}`))
	if err != nil {
		tb.Fatal(err)
	}
	return sendRequest(tb, c, req, hdr)
}

// sendRequest sends req with hdr (names exactly as spelled) and Accept:
// application/json, without following redirects.
func sendRequest(tb testing.TB, c *http.Client, req *http.Request, hdr map[string]string) (int, http.Header) {
	tb.Helper()
	req.Header.Set("Accept", "application/json")
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cc.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// hostileCase sends what a hostile client can through a front proxy:
// headers naming another request with every write method, identity headers
// in every spelling. Refused requests must never reach the app, and the app
// must never see a spoofed identity value.
func hostileCase(t *testing.T, front, userHeader string, p *oidctest.Provider, up *upstream) {
	t.Helper()
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": []any{"admins"}}})
	alice := browser(t)
	if status, body, _ := get(t, alice, front+"/hello"); status != 200 {
		t.Fatalf("alice's login: %d %s", status, body)
	}
	anon := browser(t)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		for _, c := range []struct {
			who    string
			client *http.Client
			path   string
		}{{"anonymous", anon, "/admin/secret"}, {"anonymous", anon, "/res/x"}, {"alice (no writers group)", alice, "/res/x"}} {
			for _, spoof := range requestSpoofs(front, c.path) {
				before := up.count()
				status, _ := send(t, c.client, m, front+c.path, spoof)
				if status < 300 || up.count() != before {
					t.Errorf("%s %s %s with %v: %d, app reached: %v", c.who, m, c.path, spoof, status, up.count() != before)
				}
			}
		}
	}
	// The same method rules let the allowed requests through.
	if status, _ := send(t, anon, "GET", front+"/res/x", nil); status != 200 {
		t.Errorf("anonymous GET /res/x (public for GET): %d", status)
	}
	spoofs := map[string]string{}
	for _, k := range identitySpoofs {
		spoofs[k] = spoofMark
	}
	for _, c := range []struct {
		who    string
		client *http.Client
		path   string
		user   string
	}{{"alice", alice, "/hello", "alice"}, {"anonymous", anon, "/public/x", ""}} {
		before := up.count()
		if status, _ := send(t, c.client, "GET", front+c.path, spoofs); status != 200 || up.count() != before+1 {
			t.Errorf("%s GET %s with identity spoofs: %d", c.who, c.path, status)
			continue
		}
		got := up.last()
		for k, vs := range got.Headers {
			for _, v := range vs {
				if strings.Contains(v, spoofMark) {
					t.Errorf("%s: the app received %s: %s", c.who, k, v)
				}
			}
		}
		if v := got.Headers.Get(userHeader); v != c.user {
			t.Errorf("%s: the app's %s = %q, want %q", c.who, userHeader, v, c.user)
		}
	}
}

func TestForwardAuthIngressNginx(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startIngressNginx)
	hostileCase(t, "http://"+s.front, "X-Auth-Request-User", s.p, s.up)
}

// startIngressNginx runs nginx as ingress-nginx configures it for
// docs/forward-auth/ingress-nginx.yaml.
func startIngressNginx(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	runNginx(tb, listen, ingressNginxServer(tb, listen, gateway, app))
}

// startIngressNginxCentral runs nginx as ingress-nginx configures it for
// docs/forward-auth/ingress-nginx-central.yaml: the app's host signs in on
// the gateway's own listener, its sign-in host.
func startIngressNginxCentral(tb testing.TB, listen, gateway, app string) {
	tb.Helper()
	runNginx(tb, listen, ingressNginxFile(tb, "ingress-nginx-central.yaml", listen, gateway, app))
}

// ingressNginxServer is the server block ingress-nginx generates for the
// annotations of docs/forward-auth/ingress-nginx.yaml (its
// rootfs/etc/nginx/template/nginx.tmpl: the auth location sends
// X-Original-URL, X-Original-Method, X-Sent-From, X-Auth-Request-Redirect
// and the client's own headers, and no X-Forwarded-Method; each
// auth-response-headers name is set on the request to the app from the
// auth answer; the sign-in location adds the answer's Set-Cookie to its
// redirect).
func ingressNginxServer(tb testing.TB, listen, gateway, app string) string {
	tb.Helper()
	return ingressNginxFile(tb, "ingress-nginx.yaml", listen, gateway, app)
}

// ingressNginxFile is ingressNginxServer for the snippet file: its
// auth-signin is the 401's redirect, with its sign-in host (one not $host)
// the gateway's listener, and the gateway's endpoints are routed on the
// app's host only when the file has an Ingress for them.
func ingressNginxFile(tb testing.TB, file, listen, gateway, app string) string {
	tb.Helper()
	yaml := snippet(tb, file)
	ann := map[string]string{}
	re := regexp.MustCompile(`nginx\.ingress\.kubernetes\.io/([a-z-]+): "([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(yaml, -1) {
		ann[m[1]] = m[2]
	}
	authURL, err := url.Parse(ann["auth-url"])
	if err != nil || authURL.Host == "" || ann["auth-response-headers"] == "" || ann["auth-always-set-cookie"] != "true" {
		tb.Fatalf("%s annotations: %v", file, ann)
	}
	signin := ingressSignin(tb, ann["auth-signin"], gateway)
	endpoints := ""
	if strings.Contains(yaml, "      - path: /oauth2/start\n") {
		endpoints = "  location ~ ^/oauth2/(start|callback|sign_out|signed_out|userinfo|jwks\\.json|backchannel_logout)$ {\n" +
			"%[7]s    proxy_pass http://%[8]s;\n    proxy_set_header Host $http_host;\n  }\n"
	}
	setHeaders := authProxySetHeaders(tb, yaml, ann["auth-proxy-set-headers"])
	// proxy-buffer-size sets the buffers of each location of its Ingress,
	// the auth location included (nginx.tmpl: proxy_buffer_size and
	// proxy_buffers, 4 of them by default).
	appBuffers, endpointBuffers := "", ""
	for _, doc := range strings.Split(yaml, "\n---\n") {
		m := regexp.MustCompile(`nginx\.ingress\.kubernetes\.io/proxy-buffer-size: "([^"]*)"`).FindStringSubmatch(doc)
		if m == nil || !strings.Contains(doc, "kind: Ingress") {
			continue
		}
		buffers := fmt.Sprintf("    proxy_buffer_size %[1]s;\n    proxy_buffers 4 %[1]s;\n", m[1])
		if strings.Contains(doc, "  name: dash-oauth2\n") {
			endpointBuffers = buffers
		} else {
			appBuffers = buffers
		}
	}
	var b strings.Builder
	// nginx.tmpl's http block: Connection for the app follows Upgrade, and
	// the proxy headers hash is sized by the controller's ConfigMap, which
	// the file names in a comment (the controller's defaults: 512 and 64).
	b.WriteString("map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n")
	// nginx.tmpl's $best_http_host without use-forwarded-headers, which
	// the ConfigMap sends the gateway as X-Portcullis-Upstream-Host.
	b.WriteString(ingressBestHTTPHost)
	fmt.Fprintf(&b, "proxy_headers_hash_max_size %s;\nproxy_headers_hash_bucket_size 64;\n", controllerHashMaxSize(yaml))
	fmt.Fprintf(&b, "large_client_header_buffers %s;\n", controllerHeaderBuffers(yaml))
	fmt.Fprintf(&b, `server {
  listen %[1]s;
  proxy_bind 127.0.0.2;
  location = /_external-auth {
    internal;
%[2]s    proxy_pass_request_body     off;
    proxy_set_header            Content-Length          "";
    proxy_set_header            X-Forwarded-Proto       "";
    proxy_set_header            X-Request-ID            $request_id;
    proxy_set_header            Host                    %[3]s;
    proxy_set_header            X-Original-URL          $scheme://$http_host$request_uri;
    proxy_set_header            X-Original-Method       $request_method;
    proxy_set_header            X-Sent-From             "nginx-ingress-controller";
    proxy_set_header            X-Real-IP               $remote_addr;
    proxy_set_header            X-Forwarded-For         $remote_addr;
    proxy_set_header            X-Auth-Request-Redirect $request_uri;
    proxy_pass_request_headers  on;
    proxy_http_version          1.1;
%[4]s    proxy_pass                  http://%[5]s%[6]s;
  }
`+endpoints+`  location @signin {
    add_header Set-Cookie $auth_cookie;
    return 302 %[10]s;
  }
  location / {
%[9]s    auth_request /_external-auth;
    auth_request_set $auth_cookie $upstream_http_set_cookie;
    add_header Set-Cookie $auth_cookie always;
    error_page 401 = @signin;
`, listen, appBuffers, authURL.Hostname(), setHeaders, gateway, authURL.Path, endpointBuffers, gateway, appBuffers, signin)
	for i, h := range strings.Split(ann["auth-response-headers"], ",") {
		h = strings.TrimSpace(h)
		v := strings.ToLower(strings.ReplaceAll(h, "-", "_"))
		fmt.Fprintf(&b, "    auth_request_set $authHeader%d $upstream_http_%s;\n    proxy_set_header '%s' $authHeader%d;\n", i, v, h, i)
	}
	// The controller's own forwarding headers, and its WebSocket support,
	// which passes the client's Upgrade on (nginx.tmpl's location).
	fmt.Fprintf(&b, "    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n"+
		"    proxy_set_header Connection $connection_upgrade;\n")
	fmt.Fprintf(&b, "    proxy_set_header Host $host;\n    proxy_set_header X-Forwarded-Host $host;\n"+
		"    proxy_set_header X-Forwarded-Port $server_port;\n    proxy_set_header X-Forwarded-Proto $scheme;\n"+
		"    proxy_set_header X-Forwarded-Scheme $scheme;\n    proxy_set_header X-Real-IP $remote_addr;\n"+
		"    proxy_pass http://%s;\n  }\n}\n", app)
	return b.String()
}

// ingressBestHTTPHost is the map with which nginx.tmpl sets $best_http_host
// when use-forwarded-headers is off (its default): the client's Host line.
const ingressBestHTTPHost = "map $http_host $best_http_host { default $http_host; '' $host; }\n"

// ingressSignin is the 401's redirect of auth-signin, on this test's
// addresses: its sign-in host, when not the app's own ($host), is the
// gateway's listener, and every URL is http. $host becomes $http_host (the
// test's front listens on a port of its own) and $escaped_request_uri,
// which the controller's OpenResty escapes with set_escape_uri, the
// request's own URI (stock nginx cannot escape it): the tests' paths have
// no '&' or '+'.
func ingressSignin(tb testing.TB, signin, gateway string) string {
	tb.Helper()
	u, err := url.Parse(signin)
	if err != nil || u.Scheme != "https" || u.Path != "/oauth2/start" {
		tb.Fatalf("auth-signin %q: want https://HOST/oauth2/start?rd=...", signin)
	}
	if u.Host != "$host" {
		signin = strings.Replace(signin, "https://"+u.Host, "http://"+gateway, 1)
	}
	return strings.NewReplacer("https://", "http://", "$host", "$http_host",
		"$escaped_request_uri", "$request_uri").Replace(signin)
}

// controllerHashMaxSize is the proxy-headers-hash-max-size the file tells
// to set in the controller's own ConfigMap, or the controller's default.
func controllerHashMaxSize(yaml string) string {
	m := regexp.MustCompile(`proxy-headers-hash-max-size: "([0-9]+)"`).FindStringSubmatch(yaml)
	if m == nil {
		return "512"
	}
	return m[1]
}

// controllerHeaderBuffers is the controller ConfigMap's
// large-client-header-buffers that the file names in a comment, else the
// controller's default.
func controllerHeaderBuffers(yaml string) string {
	m := regexp.MustCompile(`large-client-header-buffers: "([0-9]+ [0-9]+k)"`).FindStringSubmatch(yaml)
	if m == nil {
		return "4 8k"
	}
	return m[1]
}

// authProxySetHeaders is what ingress-nginx adds to the auth location for
// the auth-proxy-set-headers annotation ("namespace/name" of a ConfigMap
// in the same file): a proxy_set_header per data entry, quoted and sorted
// as its buildAuthProxySetHeaders writes them.
func authProxySetHeaders(tb testing.TB, yaml, ref string) string {
	tb.Helper()
	ns, name, ok := strings.Cut(ref, "/")
	if !ok {
		tb.Fatalf("ingress-nginx.yaml: auth-proxy-set-headers %q is not namespace/name", ref)
	}
	entry := regexp.MustCompile(`(?m)^  ([A-Za-z0-9-]+): "([^"]*)"$`)
	for _, doc := range strings.Split(yaml, "\n---\n") {
		if !strings.Contains(doc, "kind: ConfigMap") || !strings.Contains(doc, "  name: "+name+"\n") ||
			!strings.Contains(doc, "  namespace: "+ns+"\n") {
			continue
		}
		_, data, _ := strings.Cut(doc, "\ndata:\n")
		var lines []string
		for _, m := range entry.FindAllStringSubmatch(data, -1) {
			lines = append(lines, fmt.Sprintf("    proxy_set_header '%s' '%s';\n", m[1], m[2]))
		}
		if len(lines) == 0 {
			tb.Fatalf("ingress-nginx.yaml: ConfigMap %s has no data", ref)
		}
		sort.Strings(lines)
		return strings.Join(lines, "")
	}
	tb.Fatalf("ingress-nginx.yaml: no ConfigMap %s", ref)
	return ""
}

// TestForwardAuthLegacyNginxSnippet: behind the nginx snippet the README
// showed before, which lets a client's X-Forwarded-Uri into the
// subrequest, the gateway no longer decides the laxer request
// (DELETE /admin/secret with X-Forwarded-Uri: /public/x was allowed).
func TestForwardAuthLegacyNginxSnippet(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.2/32"))
	bin := testenv.LookPath(t, "nginx")
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxMain, dir, fmt.Sprintf(legacyNginxServer, front, a.Listen, strings.TrimPrefix(up.URL, "http://")))), 0o644); err != nil {
		t.Fatal(err)
	}
	proc := testenv.Start(t, exec.Command(bin, "-p", dir, "-c", conf))
	testenv.WaitTCP(t, front, 10*time.Second, proc)
	anon := browser(t)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		status, _ := send(t, anon, m, "http://"+front+"/admin/secret", map[string]string{"X-Forwarded-Uri": "/public/x"})
		if status < 300 || up.count() != 0 {
			t.Errorf("%s /admin/secret with X-Forwarded-Uri: /public/x: %d, app reached %d times", m, status, up.count())
		}
	}
}

// TestForwardAuthDocs: every fenced block of docs/forward-auth.md that
// reproduces a snippet file equals the file byte for byte, and every
// snippet file is reproduced, so the documentation and the tested files
// cannot drift.
func TestForwardAuthDocs(t *testing.T) {
	md, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(filepath.Join("..", "docs", "forward-auth"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(md))
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := blocks["docs/forward-auth/"+f.Name()]
		if !ok {
			t.Errorf("docs/forward-auth.md does not reproduce docs/forward-auth/%s", f.Name())
			continue
		}
		if got != string(want) {
			t.Errorf("docs/forward-auth.md's copy of %s differs from the file", f.Name())
		}
	}
}

// fencedBlocks returns the fenced code blocks of md that follow a line
// naming their file ("File: `docs/forward-auth/nginx.conf`"), by file.
func fencedBlocks(md string) map[string]string {
	out := map[string]string{}
	lines := strings.SplitAfter(md, "\n")
	name := ""
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if m := regexp.MustCompile("^File: `([^`]+)`").FindStringSubmatch(l); m != nil {
			name = m[1]
			continue
		}
		if !strings.HasPrefix(l, "```") || name == "" {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			b.WriteString(lines[i])
		}
		out[name] = b.String()
		name = ""
	}
	return out
}

// last is the last request the upstream received.
func (u *upstream) last() seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return seen{}
	}
	return u.reqs[len(u.reqs)-1]
}

// TestForwardAuthRefreshCookie: a session the gateway refreshes while
// answering /auth gets its new cookie to the browser through each tested
// snippet, and a reply without one carries no Set-Cookie at all.
func TestForwardAuthRefreshCookie(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			up := newUpstream(t)
			// Every access token is within refresh_margin of its expiry:
			// each authenticated /auth refreshes the session.
			p := oidctest.New(t, oidctest.Options{AccessTokenLifetime: 2 * time.Minute})
			addr := testenv.Addr(testenv.FreePort(t))
			a := pickAddrs(t)
			cfg := forwardAuthConfig(p, "http://"+addr, up.URL, front.trusted)
			cfg = strings.Replace(cfg, "[session]\n", "[session]\nrefresh_margin = \"150s\"\n", 1)
			startGateway(t, a, cfg)
			front.start(t, addr, a.Listen, strings.TrimPrefix(up.URL, "http://"))
			c := browser(t)
			if status, body, _ := get(t, c, "http://"+addr+"/hello"); status != 200 {
				t.Fatalf("login: %d %s", status, body)
			}
			tokens := p.Requests("/token")
			status, hdr := send(t, c, "GET", "http://"+addr+"/hello", nil)
			if status != 200 || p.Requests("/token") <= tokens {
				t.Fatalf("status %d, token requests %d -> %d: no refresh", status, tokens, p.Requests("/token"))
			}
			cookies := hdr.Values("Set-Cookie")
			if len(cookies) == 0 || strings.Contains(strings.Join(cookies, " "), "{") {
				t.Errorf("the refreshed session's cookie did not reach the browser: %q", cookies)
			}
			if status, hdr = send(t, browser(t), "GET", "http://"+addr+"/public/x", nil); status != 200 || len(hdr.Values("Set-Cookie")) != 0 {
				t.Errorf("public: %d, Set-Cookie %q", status, hdr.Values("Set-Cookie"))
			}
		})
	}
}

// TestForwardAuthIngressNginxHostConfusion: behind the configuration
// ingress-nginx generates for docs/forward-auth/ingress-nginx.yaml, next to
// a second virtual host as a cluster with several Ingresses has, a client
// cannot have the gateway decide another host or path than the one nginx
// forwards. X-Original-URL is built from the client's Host header
// ($http_host), while nginx routes an absolute-form request line by its
// own host, and accepts a '?' in the Host header.
func TestForwardAuthIngressNginxHostConfusion(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.2/32"))
	srv := ingressNginxServer(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	srv += fmt.Sprintf("server { listen %s; server_name public.test; return 200 'the public.test app'; }\n", front)
	runNginx(t, front, srv)

	// The protected app, named in the request line; the Host header names
	// public.test, every route of which is public at the gateway.
	before := up.count()
	status := rawStatus(t, front, "DELETE http://"+front+"/admin/secret HTTP/1.1\r\nHost: public.test\r\n"+
		"Accept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	// The gateway answers 400, which auth_request turns into 500.
	if status != http.StatusInternalServerError || up.count() != before {
		t.Errorf("DELETE http://%s/admin/secret with Host: public.test: %d, app reached %d times, want 500",
			front, status, up.count()-before)
	}
	// The honest request still works: nginx's $host and the Host header agree.
	status = rawStatus(t, front, "GET /public/x HTTP/1.1\r\nHost: "+front+"\r\nConnection: close\r\n\r\n")
	if status != http.StatusOK || up.count() != before+1 {
		t.Errorf("GET /public/x: %d, want 200 from the app", status)
	}

	// A '?' in the Host header: X-Original-URL becomes http://HOST?/admin/secret,
	// a URL whose path is empty. bob is not in admins.
	p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.com", "email_verified": true, "groups": []any{"staff"}}})
	bob := browser(t)
	if status, body, _ := get(t, bob, "http://"+front+"/hello"); status != http.StatusOK {
		t.Fatalf("bob's sign-in: %d %s", status, body)
	}
	var cookies []string
	for _, c := range bob.Jar.Cookies(&url.URL{Scheme: "http", Host: front, Path: "/"}) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	if status, _ := send(t, bob, "GET", "http://"+front+"/admin/secret", nil); status != http.StatusForbidden {
		t.Fatalf("bob's GET /admin/secret: %d, want 403", status)
	}
	before = up.count()
	status = rawStatus(t, front, "GET /admin/secret HTTP/1.1\r\nHost: "+front+"?\r\nCookie: "+strings.Join(cookies, "; ")+
		"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
	if status != http.StatusInternalServerError || up.count() != before {
		t.Errorf("bob's GET /admin/secret with Host: %s?: %d, app reached %d times, want 500", front, status, up.count()-before)
	}
}
