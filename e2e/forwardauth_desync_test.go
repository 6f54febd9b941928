package e2e

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// frontProxies are the documented front proxies that run here.
var frontProxies = []struct {
	name    string
	trusted string
	start   func(tb testing.TB, listen, gateway, app string)
}{{"nginx", "127.0.0.2/32", startNginx}, {"caddy", "127.0.0.1/32", startCaddy},
	{"ingress-nginx", "127.0.0.2/32", startIngressNginx}, {"traefik", "127.0.0.1/32", startTraefik}}

// authEndpointSpellings are the forward-auth endpoint's path as sent and
// as other spellings that a front proxy may route or normalise otherwise.
var authEndpointSpellings = []string{"/oauth2/auth", "//oauth2/auth", "/oauth2//auth", "/OAUTH2/AUTH",
	"/oauth2/auth/", "/oauth2/auth.", "/oauth2/./auth", "/oauth2/x/../auth", "/oauth2/%61uth", "/oauth2%2Fauth",
	"/oauth2/auth;x", "/oauth2/auth%20"}

// TestAuthEndpointNotReachableByClients: each snippet routes the
// gateway's own endpoints (/oauth2/) from the app's host to the gateway,
// and a client that asked /auth itself, through the trusted front proxy,
// with its own X-Forwarded-Uri, would get the answer meant for the proxy:
// its identity headers and the signed assertion, a credential meant for
// the app only (security.md counts TRACE echoing it to the client as a
// leak). Through the fronts, the snippets decide: nginx keeps /oauth2/auth
// internal, Caddy answers it 404, ingress-nginx routes the other endpoints
// only, Traefik's dash-oauth2 router excludes it, and no spelling below
// reaches the gateway's /oauth2/ at all. The gateway's own guard
// (exactAuthPath: only the exact path is the endpoint) is for a front that
// does pass a spelling on, as Traefik's raw-path rules before 3.3.6 did:
// authSpellingsRefusedByGateway asks it as such a front would.
func TestAuthEndpointNotReachableByClients(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			c := browser(t)
			if status, body, _ := get(t, c, "http://"+s.front+"/hello"); status != 200 {
				t.Fatalf("login: %d %s", status, body)
			}
			// The path as sent, and as the fronts' published path-matching
			// differences spell it: nginx's merge_slashes, Caddy's
			// case-insensitive matcher that trims trailing dots, Traefik's
			// raw-path rules before 3.3.6, escapes, a trailing slash.
			for _, p := range authEndpointSpellings {
				status, hdr := send(t, c, "GET", "http://"+s.front+p, map[string]string{
					"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/hello"})
				// The reply's own headers: the app may answer a request for
				// /oauth2/auth that the front proxy routes to it after a decision.
				if a := hdr.Get("X-Portcullis-Jwt-Assertion"); a != "" || hdr.Get("X-Auth-Request-User") != "" {
					t.Errorf("a client's own GET %s: %d, X-Auth-Request-User %q, assertion %.40q…",
						p, status, hdr.Get("X-Auth-Request-User"), a)
				}
			}
			if front.name == "traefik" { // the test's own address is a trusted peer of this gateway
				authSpellingsRefusedByGateway(t, s, c)
			}
		})
	}
}

// authSpellingsRefusedByGateway sends each spelling of the forward-auth
// path but the exact one straight to the gateway, from a trusted peer, as
// a front proxy that routed it to the gateway's /oauth2/ would, with the
// signed-in client's cookie and its own forwarded headers: none is
// answered as the endpoint, with the identity (the gateway answers 404, a
// 400 for "%2F" or ";", or decides "/OAUTH2/AUTH" as an app path). The
// exact path (the control) is the front's own subrequest: 200 and alice.
func authSpellingsRefusedByGateway(t *testing.T, s frontSetup, c *http.Client) {
	t.Helper()
	hdr := map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/hello",
		"X-Forwarded-Host": s.front, "X-Forwarded-Proto": "http"}
	for _, p := range authEndpointSpellings {
		status, got := send(t, c, "GET", s.gw.URL+p, hdr)
		user := got.Get("X-Auth-Request-User")
		if exact := p == "/oauth2/auth"; exact && (status != http.StatusOK || user == "") {
			t.Errorf("the front's own GET %s (control): %d, X-Auth-Request-User %q; want 200 and alice", p, status, user)
		} else if !exact && (user != "" || got.Get("X-Portcullis-Jwt-Assertion") != "") {
			t.Errorf("GET %s from a trusted peer: %d, X-Auth-Request-User %q; want no identity", p, status, user)
		}
	}
}

// TestDoubleSlashDoesNotReachApp: "//public/admin/secret" (and
// "/.//public/admin/secret") is decided as the public /public/admin/secret,
// and the front proxy hands the app the original target, which a URL parser (WHATWG URL as in Node's
// new URL(req.url, base), Python's urlsplit, Go's url.Parse) reads as
// host "public", path "/admin/secret".
func TestDoubleSlashDoesNotReachApp(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			anon := browser(t)
			if status, _ := send(t, anon, "GET", "http://"+s.front+"/admin/secret", nil); status < 300 {
				t.Fatalf("anonymous GET /admin/secret: %d", status)
			}
			// "/.//public/admin/secret" is pathname "//public/admin/secret"
			// once a WHATWG URL parser has removed its "." segment.
			for _, target := range []string{"//public/admin/secret", "/.//public/admin/secret", "/%2e//public/admin/secret"} {
				before := s.up.count()
				status := rawStatus(t, s.front, "GET "+target+" HTTP/1.1\r\nHost: "+s.front+"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
				if s.up.count() == before {
					continue // refused
				}
				got := s.up.last().Path
				p := got
				for strings.HasPrefix(p, "/./") || strings.HasPrefix(strings.ToLower(p), "/%2e/") {
					p = p[strings.Index(p[1:], "/")+1:]
				}
				u, err := url.Parse(p)
				if err == nil && u.Path == "/admin/secret" {
					t.Errorf("anonymous GET %s: %d; the app received %q, which a URL parser reads as path %q on host %q",
						target, status, got, u.Path, u.Host)
				}
			}
		})
	}
}

// TestPathRewriteHeadersDoNotReachApp: headers with which an app or its
// framework replaces or strips the path it routes by, or learns another
// method than the one decided, which proxy mode removes (alwaysScrubbed),
// never reach the app through the front proxies on a request the gateway
// decided by its own path and method.
func TestPathRewriteHeadersDoNotReachApp(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			for _, h := range [][2]string{{"X-Script-Name", "/public"}, {"X-Original-URL", "/admin/secret"},
				{"X-Original-URI", "/admin/secret"}, {"X-Rewrite-URL", "/admin/secret"},
				{"X-Forwarded-Path", "/admin/secret"}, {"X-Envoy-Original-Path", "/admin/secret"},
				{"X-Replaced-Path", "/admin/secret"}, {"X-Original-Method", "DELETE"}, {"X-Forwarded-Method", "DELETE"}} {
				before := s.up.count()
				status, _ := send(t, browser(t), "GET", "http://"+s.front+"/public/admin/secret", map[string]string{h[0]: h[1]})
				if s.up.count() == before {
					continue // refused
				}
				if v := s.up.last().Headers.Get(h[0]); v != "" {
					t.Errorf("anonymous GET /public/admin/secret (%d): the app received %s: %s", status, h[0], v)
				}
			}
		})
	}
}

// forwardedClaims are headers a client sends to claim its address, scheme,
// host, certificate or identity, which must never reach the app
// (TestForwardedClaimsDoNotReachApp).
var forwardedClaims = map[string]string{
	"Forwarded":          "for=198.51.100.1;host=public.test;proto=https",
	"X-Original-Host":    "public.test",
	"X-Host":             "public.test",
	"X-Forwarded-Prefix": "/spoofed-prefix",
	"X-Forwarded-Port":   "8443",
	// Headers frameworks believe about the client's address or scheme,
	// which proxy mode removes too (proxy.peerClaimHeaders).
	"X-Real-Ip": "198.51.100.2", "X-Client-Ip": "198.51.100.3", "True-Client-Ip": "198.51.100.4",
	"Cf-Connecting-Ip": "198.51.100.5", "X-Cluster-Client-Ip": "198.51.100.6", "Client-Ip": "198.51.100.7",
	"X-Forwarded": "for=198.51.100.8", "Forwarded-For": "198.51.100.9", "X-Forwarded-Server": "spoofed.test",
	"X-Forwarded-Ssl": "on", "X-Forwarded-Scheme": "https", "X-Url-Scheme": "https", "Front-End-Https": "on",
	"X-Scheme": "https", "Client-Cert": ":c3Bvb2ZlZA==:", "Client-Cert-Chain": ":c3Bvb2ZlZA==:",
	"X-Forwarded-Client-Cert": "By=spiffe://spoofed;URI=spiffe://spoofed",
	// The platforms' own (Fastly, Cloudflare, Azure, Google, Fly.io,
	// Envoy, CloudFront, IIS ARR, AWS ALB, Traefik, ASP.NET) and
	// gunicorn's and Echo's X-Forwarded-Protocol.
	"Fastly-Client-Ip": "198.51.100.10", "Cf-Connecting-Ipv6": "2001:db8::10", "X-Azure-Clientip": "198.51.100.11",
	"X-Azure-Socketip": "198.51.100.12", "X-Appengine-User-Ip": "198.51.100.13",
	"X-Appengine-Remote-Addr": "198.51.100.14", "Fly-Client-Ip": "198.51.100.15",
	"X-Envoy-External-Address": "198.51.100.16", "Cloudfront-Viewer-Address": "198.51.100.17:443",
	"X-Forwarded-Protocol": "ssl", "Cf-Visitor": `{"scheme":"https"}`, "Fastly-Ssl": "1",
	"Cloudfront-Forwarded-Proto": "https", "X-Arr-Ssl": "spoofed", "X-Client-Cert": "c3Bvb2ZlZA==",
	"X-Arr-Clientcert": "c3Bvb2ZlZA==", "X-Forwarded-Tls-Client-Cert": "c3Bvb2ZlZA==",
	"X-Forwarded-Tls-Client-Cert-Info": "Subject%3D%22CN%3Dspoofed%22", "X-Amzn-Mtls-Clientcert": "c3Bvb2ZlZA==",
	"X-Amzn-Mtls-Clientcert-Leaf": "c3Bvb2ZlZA==", "X-Amzn-Mtls-Clientcert-Subject": "CN=spoofed",
	"X-Amzn-Mtls-Clientcert-Issuer": "CN=spoofed", "X-Amzn-Mtls-Clientcert-Serial-Number": "01",
	"X-Amzn-Mtls-Clientcert-Validity": "NotBefore=2020-01-01T00:00:00Z;NotAfter=2099-01-01T00:00:00Z",
	// Other authentication products' identity headers (proxy.identityClaims).
	"X-Amzn-Oidc-Data": "eyJ.spoofed.data", "X-Amzn-Oidc-Identity": "mallory", "X-Amzn-Oidc-Accesstoken": "spoofed-at",
	"X-Goog-Authenticated-User-Email": "accounts.google.com:admin@example.com",
	"X-Goog-Authenticated-User-Id":    "accounts.google.com:1", "X-Goog-Iap-Jwt-Assertion": "eyJ.spoofed.iap",
	"Cf-Access-Jwt-Assertion": "eyJ.spoofed.cf", "Cf-Access-Authenticated-User-Email": "admin@example.com",
	"X-Ms-Client-Principal": "eyJzcG9vZmVkIjp0cnVlfQ==", "X-Ms-Client-Principal-Name": "admin@example.com",
	"X-Ms-Client-Principal-Id": "spoofed-oid", "X-Ms-Client-Principal-Idp": "aad",
	"X-Ms-Token-Aad-Access-Token": "spoofed-aad-at", "X-Ms-Token-Aad-Id-Token": "spoofed-aad-id",
	"Remote-User": "admin", "Remote-Groups": "admins", "Remote-Email": "admin@example.com", "Remote-Name": "Admin",
	"X-Pomerium-Jwt-Assertion": "eyJ.spoofed.pomerium", "X-Vouch-User": "admin@example.com",
	"X-Vouch-Idp-Idtoken": "spoofed-vouch-id", "X-Vouch-Idp-Accesstoken": "spoofed-vouch-at", "X-Webauth-User": "admin",
	"X-Authentik-Username": "admin", "X-Authentik-Groups": "admins", "X-Authentik-Jwt": "eyJ.spoofed.authentik",
	"X-Auth-Username": "admin", "X-Auth-Groups": "admins", "X-Auth-Roles": "admin", "Tailscale-User-Login": "admin@example.com",
	"X-Forwarded-Login": "admin", "X-Remote-User": "admin", "X-Remote-Group": "admins",
	"Oidc-Claim-Email": "admin@example.com", "Oidc-Access-Token": "spoofed-oidc-at", "Oidc-Id-Token-Payload": `{"sub":"admin"}`,
}

// prefixedClaims are claims under other products' header prefixes
// (X-Pomerium-Claim-*, ...), sent behind Caddy alone: its snippet removes
// a prefix (request_header -X-Pomerium-Claim-*), which the other fronts
// cannot express.
var prefixedClaims = map[string]string{"X-Pomerium-Claim-Email": "admin@example.com", "X-Ms-Token-Aad-Refresh-Token": "spoofed-rt",
	"X-Vouch-Idp-Claims-Groups": "admins", "X-Webauth-Role": "Admin", "X-Authentik-Meta-Role": "admin",
	"Oidc-Claim-Groups": "admins"}

// TestForwardedClaimsDoNotReachApp: the headers with which frameworks
// rebuild the client's address, host or path prefix that proxy mode
// removes from every request (Forwarded, which Spring's
// ForwardedHeaderFilter and Quarkus prefer to X-Forwarded-*, X-Original-Host,
// X-Host, X-Forwarded-Prefix, X-Forwarded-Port) never reach the app through
// the front proxies with the client's values: the app would see another
// client address than the proxy's and another host than the one decided.
// Nor do other authentication products' identity headers, with which the
// client would be signed in to an app that still reads them; Caddy removes
// their prefixes too (prefixed), the others name by name only.
func TestForwardedClaimsDoNotReachApp(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			sent := maps.Clone(forwardedClaims)
			if front.name == "caddy" {
				maps.Copy(sent, prefixedClaims)
			}
			before := s.up.count()
			if status, _ := send(t, browser(t), "GET", "http://"+s.front+"/public/x", sent); status != 200 || s.up.count() != before+1 {
				t.Fatalf("anonymous GET /public/x: %d", status)
			}
			got := s.up.last().Headers
			for k, v := range sent {
				if slices.Contains(got.Values(k), v) {
					t.Errorf("the app received the client's %s: %s", k, v)
				}
			}
		})
	}
}

// TestH2CUpgradeDoesNotReachApp: proxy mode removes "Upgrade: h2c". A
// front proxy that forwards upgrades (Caddy, Traefik, ingress-nginx for
// WebSockets) hands it to the app after a decision on a public path, and
// an app that speaks h2c answers 101 and then serves every HTTP/2 request
// the client sends through the tunnel ("GET /admin/secret"), none of them
// decided. A WebSocket upgrade still reaches the app.
func TestH2CUpgradeDoesNotReachApp(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			for _, upgrade := range []string{"h2c", "H2C", "websocket, h2c"} {
				before := s.up.count()
				status := rawStatus(t, s.front, "GET /public/x HTTP/1.1\r\nHost: "+s.front+"\r\nAccept: application/json\r\n"+
					"Upgrade: "+upgrade+"\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n")
				if s.up.count() == before {
					continue // refused
				}
				if got := s.up.last().Headers.Values("Upgrade"); len(got) != 0 {
					t.Errorf("anonymous GET /public/x with Upgrade: %s: %d, and the app received Upgrade: %q", upgrade, status, got)
				}
			}
			before := s.up.count()
			status := rawStatus(t, s.front, "GET /public/x HTTP/1.1\r\nHost: "+s.front+"\r\nAccept: application/json\r\n"+
				"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
			if status != 200 || s.up.count() != before+1 {
				t.Errorf("anonymous WebSocket upgrade of /public/x: %d, app reached %d times", status, s.up.count()-before)
			}
		})
	}
}

// TestEncodedSemicolonDoesNotReachAppAsPathParameter: nginx with a URI in
// proxy_pass ("proxy_pass http://app/;", the usual way to strip or keep a
// location's prefix) sends the app the path it decoded, "%3B" as a raw
// ";". The gateway decided "/admin%3Bx/secret" as one segment, "admin%3Bx",
// under the catch-all route any signed-in user passes, while the app
// received "/admin;x/secret", which servlet containers (Tomcat, Jetty) and
// other servers that strip path parameters serve as /admin/secret, a path
// the routes give admins only. The gateway refuses "%3B" as it refuses a
// raw ";".
func TestEncodedSemicolonDoesNotReachAppAsPathParameter(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	p.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []any{"staff"}}})
	addr := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+addr, up.URL, "127.0.0.2/32"))
	host, _, _ := strings.Cut(addr, ":")
	runNginx(t, addr, snippet(t, "nginx.conf",
		"listen 80;", "listen "+addr+";\n    proxy_bind 127.0.0.2;",
		"server_name dash.example.com;", "server_name "+host+";",
		"127.0.0.1:4180", a.Listen,
		"proxy_pass http://127.0.0.1:3000;", "proxy_pass "+up.URL+"/;"))
	bob := browser(t)
	if status, body, _ := get(t, bob, "http://"+addr+"/hello"); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	if status, _ := send(t, bob, "GET", "http://"+addr+"/admin/secret", nil); status != 403 {
		t.Fatalf("bob on /admin/secret: %d, want 403", status)
	}
	for _, target := range []string{"/admin%3Bx/secret", "/admin%3b/secret", "/admin/%3B/secret", "/res%3B/item"} {
		before := up.count()
		status, _ := send(t, bob, "DELETE", "http://"+addr+target, nil)
		if up.count() == before {
			continue // refused
		}
		if got := up.last().Path; strings.Contains(got, ";") {
			t.Errorf("bob's DELETE %s: %d; the app received %q, which a server that strips path parameters serves as %q",
				target, status, got, stripPathParams(got))
		}
	}
}

// stripPathParams removes each segment's ";" parameters, as Tomcat does.
func stripPathParams(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return strings.Join(segs, "/")
}
