package proxy

// Differentials between what the gateway decides on and what the upstream
// receives (or the client is sent), found by attacking the forwarding path.

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// TestConnectionHeaderHidesContentType: httputil.ReverseProxy removes every
// header a client names in Connection (RFC 9110 §7.6.1) before Rewrite
// runs. The gateway decides a POST's _method (and the access_token rule)
// from the Content-Type it received, but the upstream gets the request
// without it when the client lists Content-Type in Connection. A POST with
// "Content-Type: text/plain" is not a form to the gateway (no body read, no
// _method looked for), while the upstream receives an untyped POST, which
// Rack (Rails, Sinatra) parses as a form: "_method=delete" in the body
// then makes a non-admin's POST a DELETE that the routes give admins only.
// The same request without Connection, or untyped from the start, is 403
// ("untyped override denied" in TestMethodOverrideDecidedAsBoth).
func TestConnectionHeaderHidesContentType(t *testing.T) {
	f := overrideFixture(t)
	bobSession := f.session()
	bobSession.Identity.Subject, bobSession.Identity.Groups = "bob", []string{"staff"}
	bob := f.cookies(t, bobSession)
	for _, tt := range []struct {
		name, ct, body string
	}{
		{"text/plain", "text/plain", "_method=delete"},
		{"json read as json", "application/json", `{"title":"&_method=delete&"}`},
		{"token in an untyped body", "text/plain", "a=1&access_token=x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.up.count()
			resp := f.do(t, "POST", "/items/1", strings.NewReader(tt.body), withCookies(bob),
				withHeader("Content-Type", tt.ct), withHeader("Connection", "Content-Type"))
			_ = readBody(t, resp)
			if f.up.count() == before {
				return // refused: fine
			}
			got := f.up.last(t)
			if ct := got.Header.Get("Content-Type"); ct != tt.ct {
				t.Errorf("status %d: the upstream received POST %q with Content-Type %q, the gateway decided on %q: "+
					"an untyped POST body is a form to Rack", resp.StatusCode, got.Body, ct, tt.ct)
			}
		})
	}
}

// gunicornPathInfo is the PATH_INFO gunicorn (gunicorn/http/wsgi.py,
// create) gives a WSGI application (Flask, Django) for a request path and a
// SCRIPT_NAME request header: path.split(script_name, 1)[1]. Gunicorn takes
// the SCRIPT_NAME header from any peer up to 21.x, and from 22.0 on from
// forwarded_allow_ips, by default 127.0.0.1 and ::1: the gateway on
// loopback or in the same pod, the deployment docs/security.md recommends.
func gunicornPathInfo(path, scriptName string) string {
	if scriptName == "" {
		return path
	}
	if _, after, ok := strings.Cut(path, scriptName); ok {
		return after
	}
	return path
}

// TestScriptNameHeaderReachesUpstream: a client's SCRIPT_NAME header
// (underscore spelling, which gunicorn reads as the WSGI SCRIPT_NAME and
// strips from the path) is forwarded. "GET /public/admin/users" is decided
// under the public "/public/**" route, and a Flask or Django app under
// gunicorn then routes it as "/admin/users", which the routes give admins
// only. X-Forwarded-Prefix, the same idea for Spring and Werkzeug, is
// already removed; SCRIPT_NAME (and the X-Script-Name of the common Flask
// "ReverseProxied" recipe) is not.
func TestScriptNameHeaderReachesUpstream(t *testing.T) {
	f := newFixture(t)
	bobSession := f.session()
	bobSession.Identity.Subject, bobSession.Identity.Groups = "bob", []string{"staff"}
	bob := f.cookies(t, bobSession)
	for _, tt := range []struct {
		name, target, header, value string
		opts                        []reqOption
	}{
		{"anonymous, public route", "/public/admin/users", "SCRIPT_NAME", "/public", nil},
		{"signed-in non-admin, /app route", "/app/admin/users", "SCRIPT_NAME", "/app", []reqOption{withCookies(bob)}},
		{"Flask ReverseProxied recipe", "/public/admin/users", "X-Script-Name", "/public", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.up.count()
			opts := append([]reqOption{func(r *http.Request) { r.Header[tt.header] = []string{tt.value} }}, tt.opts...)
			resp := f.do(t, "GET", tt.target, nil, opts...)
			_ = readBody(t, resp)
			if f.up.count() == before {
				return
			}
			got := f.up.last(t)
			for k, vs := range got.Header {
				if len(k) == len(tt.header) && foldEqual(k, foldHeaderName(tt.header)) {
					t.Errorf("status %d: %s %q reached the upstream with %s; stripped of that prefix (gunicorn's SCRIPT_NAME, "+
						"the ReverseProxied recipe's X-Script-Name) the application routes it as %q",
						resp.StatusCode, k, vs, got.Path, gunicornPathInfo(got.Path, vs[0]))
				}
			}
		})
	}
}

// TestInformationalResponseCannotSetGatewayCookies: ModifyResponse
// (dropOwnSetCookies) sees the final response and a 101, but
// httputil.ReverseProxy copies an upstream's 1xx interim responses (103
// Early Hints) to the client header by header, Set-Cookie included, before
// any of it runs. An application behind the gateway can so send the
// browser a Set-Cookie for the gateway's session cookie, which
// docs/requests.md says never reaches it.
func TestInformationalResponseCannotSetGatewayCookies(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</style.css>; rel=preload; as=style")
		w.Header().Add("Set-Cookie", "portcullis=planted; Path=/; HttpOnly")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Del("Set-Cookie")
		_, _ = io.WriteString(w, "ok")
	})
	srv := serveGateway(t, f)
	var mu sync.Mutex
	var interim []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		interim = append(interim, h.Values("Set-Cookie")...)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", srv.URL+"/public/x", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, c := range interim {
		if strings.HasPrefix(c, "portcullis=") {
			t.Errorf("an upstream's 103 carried Set-Cookie %q to the client", c)
		}
	}
}

// TestClientIPHeaderFromUntrustedPeer: docs/requests.md removes, from peers
// outside trusted_proxies, the headers frameworks believe about the
// client's address. Client-IP (HTTP_CLIENT_IP: Rails'
// ActionDispatch::RemoteIp reads it, and the usual PHP "real IP" helpers
// read it first) is not on the list and reaches the upstream from anyone.
func TestClientIPHeaderFromUntrustedPeer(t *testing.T) {
	f := newFixture(t)
	resp := f.do(t, "GET", "/public/x", nil, withHeader("Client-IP", "10.0.0.1"), withHeader("X-Forwarded", "for=10.0.0.1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	}
	got := f.up.last(t).Header
	for _, h := range []string{"Client-Ip", "X-Forwarded"} {
		if v := got.Get(h); v != "" {
			t.Errorf("%s %q from an untrusted peer reached the upstream", h, v)
		}
	}
}

// TestConnectionHeaderHidesContentTypeOnTheWire is
// TestConnectionHeaderHidesContentType through a real listener, as a
// client (curl, a script: a browser cannot set Connection) sends it.
func TestConnectionHeaderHidesContentTypeOnTheWire(t *testing.T) {
	f := overrideFixture(t)
	bobSession := f.session()
	bobSession.Identity.Subject, bobSession.Identity.Groups = "bob", []string{"staff"}
	var cookie strings.Builder
	for i, c := range f.cookies(t, bobSession) {
		if i > 0 {
			cookie.WriteString("; ")
		}
		cookie.WriteString(c.Name + "=" + c.Value)
	}
	srv := serveGateway(t, f)
	addr := strings.TrimPrefix(srv.URL, "http://")
	body := "_method=delete"
	status := rawStatus(t, addr, "POST /items/1 HTTP/1.1\r\nHost: gw.test\r\nCookie: "+cookie.String()+
		"\r\nContent-Type: text/plain\r\nConnection: Content-Type\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	if status != http.StatusOK {
		return // refused: fine
	}
	if got := f.up.last(t); got.Header.Get("Content-Type") == "" && got.Body == body {
		t.Errorf("a non-admin's POST %q reached the upstream untyped (Rack reads it as a form: a DELETE that only admins may do)", got.Body)
	}
}

// rawStatus sends one raw request and returns the response status (0 when none).
func rawStatus(t *testing.T, addr, raw string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// TestConnectionOptionsRemovedBeforeTheDecision: a header the client names
// in Connection is not forwarded, so the gateway does not decide on it
// either. A session cookie named there identifies nobody (the /app route
// needs a login), and a bearer token named there is neither used nor sent.
func TestConnectionOptionsRemovedBeforeTheDecision(t *testing.T) {
	f := newFixture(t)
	alice := f.cookies(t, f.session())
	before := f.up.count()
	resp := f.do(t, "GET", "/app/x", nil, withCookies(alice), withHeader("Connection", "keep-alive, Cookie"))
	_ = readBody(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || f.up.count() != before {
		t.Errorf("a session cookie named in Connection: status %d, forwarded %v; want 401 and nothing forwarded",
			resp.StatusCode, f.up.count() != before)
	}
	resp = f.do(t, "GET", "/app/x", nil, withCookies(alice), withHeader("Connection", "X-Unrelated"))
	_ = readBody(t, resp)
	if resp.StatusCode != http.StatusOK || f.up.last(t).Header.Get("X-Forwarded-User") == "" {
		t.Errorf("an unrelated Connection option: status %d, want 200 with the identity headers", resp.StatusCode)
	}
	resp = f.do(t, "GET", "/public/x", nil, withHeader("Authorization", "Bearer not-looked-at"),
		withHeader("Connection", "authorization"))
	_ = readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a bearer token named in Connection on a public route: status %d, want 200 (not verified)", resp.StatusCode)
	}
	if got := f.up.last(t).Header.Get("Authorization"); got != "" {
		t.Errorf("the upstream received Authorization %q", got)
	}
}

// TestInterimResponseKeepsHeldHeaders: the headers the gateway set before
// forwarding (a renewed session's Set-Cookie) are neither sent in an
// upstream's 103 nor cleared with it (ReverseProxy clears the header map
// after a 1xx); they reach the client in the final response, and the 103
// carries the upstream's other headers but no cookie.
func TestInterimResponseKeepsHeldHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Add("Set-Cookie", "portcullis=renewed; Path=/")
		sw.holdHeaders()
		h := sw.Header() // what ReverseProxy does with an upstream's 103
		h.Add("Link", "</style.css>; rel=preload")
		h.Add("Set-Cookie", "portcullis=planted; Path=/")
		sw.WriteHeader(http.StatusEarlyHints)
		clear(h)
		h.Set("Content-Type", "text/plain")
		h.Add("Set-Cookie", "app=1; Path=/")
		sw.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(sw, "ok")
	}))
	defer srv.Close()
	var mu sync.Mutex
	var interim []http.Header
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		interim = append(interim, http.Header(h).Clone())
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", srv.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(interim) != 1 || interim[0].Get("Link") == "" || len(interim[0]["Set-Cookie"]) != 0 {
		t.Errorf("interim responses %v: want one 103 with Link and no Set-Cookie", interim)
	}
	got := strings.Join(resp.Header["Set-Cookie"], " | ")
	if !strings.Contains(got, "portcullis=renewed") || !strings.Contains(got, "app=1") || strings.Contains(got, "planted") {
		t.Errorf("final Set-Cookie %q: want the held portcullis=renewed and the upstream's app=1", got)
	}
}

// subDelimRoutes: admins only under "/@admin" (a Mastodon-style user path)
// and under an OData entity key; every signed-in user elsewhere.
var subDelimRoutes = []policy.RouteConfig{
	{Path: "/@admin/**", AllowGroups: []string{"admins"}},
	{Path: "/odata/Users('admin')/**", AllowGroups: []string{"admins"}},
	{Path: "/**"},
}

// TestEncodedSubDelimSkipsRoute: Normalize decodes only escapes of
// unreserved characters and keeps the others, so "/%40admin" and "/@admin"
// were two paths to the routes ("%40admin" is not the literal segment
// "@admin") while every application decodes both to "/@admin". A signed-in
// non-admin reached the admins' "/@admin/**" and "/odata/Users('admin')/**"
// by percent-encoding the "@" or the quotes: the upstream received
// "/%40admin/settings" and served "/@admin/settings".
func TestEncodedSubDelimSkipsRoute(t *testing.T) {
	f := newFixture(t, withRoutes(t, subDelimRoutes))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	bob := withHeader("Authorization", "Bearer bob-token")
	for _, target := range []string{
		"/%40admin/settings",
		"/odata/Users(%27admin%27)/Delete",
		"/odata/Users%28'admin'%29/Delete",
	} {
		before := f.up.count()
		resp := f.do(t, "POST", target, nil, bob)
		_ = readBody(t, resp)
		if f.up.count() != before {
			got := f.up.last(t)
			t.Errorf("%s: status %d, a non-admin's request reached the upstream as %q (served as %q), which the routes give admins only",
				target, resp.StatusCode, got.RequestURI, got.Path)
		} else if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", target, resp.StatusCode)
		}
	}
}

// TestForwardedPathKeepsSubDelims: the normalised path is forwarded as it
// was authorized: url.URL re-encodes "!", "'", "(", ")" and "*" of a Path
// without RawPath, so "/odata/Users('admin')" reached the upstream as
// "/odata/Users%28%27admin%27%29", a path the routes never matched.
func TestForwardedPathKeepsSubDelims(t *testing.T) {
	f := newFixture(t, withRoutes(t, subDelimRoutes))
	f.prov.bearers["alice-token"] = &portcullis.Identity{Subject: "alice", Groups: []string{"admins"}}
	for _, target := range []string{"/odata/Users('admin')/x", "/a!b*c", "/@admin/x"} {
		resp := f.do(t, "GET", target, nil, withHeader("Authorization", "Bearer alice-token"))
		_ = readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", target, resp.StatusCode)
		}
		if got := f.up.last(t).RequestURI; got != target {
			t.Errorf("%s was authorized, the upstream received %s", target, got)
		}
	}
}

// TestAccessTokenInFrameworkSpelling: docs/requests.md refuses an
// access_token in the query string of a request that needs an identity,
// but only that exact name was looked for. PHP reads "access.token" and
// "access token" as access_token, Rack "access_token[]": such a query went
// through to the application, which can take the token in it (RFC 6750
// §2.3) for another identity than the one the gateway decided on.
func TestAccessTokenInFrameworkSpelling(t *testing.T) {
	f := newFixture(t)
	alice := withCookies(f.cookies(t, f.session()))
	for _, q := range []string{"access.token=x", "access+token=x", "access_token[]=x"} {
		before := f.up.count()
		resp := f.do(t, "GET", "/app/x?"+q, nil, alice)
		_ = readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || f.up.count() != before {
			t.Errorf("?%s: status %d, forwarded %v; want 400 and nothing forwarded", q, resp.StatusCode, f.up.count() != before)
		}
	}
}

// TestAccessTokenWithUnmatchedBracket: PHP turns a "[" that no "]" follows
// into "_" (php_register_variable_ex: "not an index"), so ?access[token=T
// is $_GET["access_token"]; isParamName dropped every bracket, read
// "accesstoken", and forwarded the token to the application in both modes.
func TestAccessTokenWithUnmatchedBracket(t *testing.T) {
	f := newFixture(t)
	alice := withCookies(f.cookies(t, f.session()))
	for _, q := range []string{"access[token=x", "access%5btoken=x", "+access[token=x", "a=1&access[token]x=y&access[token=x"} {
		before := f.up.count()
		resp := f.do(t, "GET", "/app/x?"+q, nil, alice)
		_ = readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || f.up.count() != before {
			t.Errorf("?%s: status %d, forwarded %v; want 400 and nothing forwarded", q, resp.StatusCode, f.up.count() != before)
		}
	}
	// A bracket that an index closes makes an array of the name before it.
	if resp := f.do(t, "GET", "/app/x?access[token]=x", nil, alice); resp.StatusCode != http.StatusOK {
		t.Errorf("?access[token]=x (PHP: $_GET[\"access\"][\"token\"]): %d, want 200", resp.StatusCode)
	}
}

// TestQueryTokenRefusedInBothModes: an access_token in the query string is
// a 400 (docs/requests.md, entry checks). Forward-auth refused it for
// every route, a public one included, while proxy mode refused it only
// where the route read credentials: the same request to a public route
// was forwarded, token and all, by the one and refused by the other. Both
// modes now refuse it before the decision.
func TestQueryTokenRefusedInBothModes(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/public/x?access_token=t", "/public/x?a=1&access.token=t", "/nothing?access_token=t",
		"/app/x?access_token=t"} {
		auth := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.1:1"), withHeader("X-Forwarded-Method", "GET"),
			withHeader("X-Forwarded-Host", "gw.test"), withHeader("X-Forwarded-Uri", target))
		before := f.up.count()
		proxied := f.do(t, "GET", target, nil)
		if auth.StatusCode != http.StatusBadRequest || proxied.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: forward-auth %d, proxy mode %d; want 400 from both", target, auth.StatusCode, proxied.StatusCode)
		}
		if f.up.count() != before {
			t.Errorf("%s reached the upstream", target)
		}
	}
	if resp := f.do(t, "GET", "/public/x?token=t&accessible=1", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("a public query without access_token: %d, want 200", resp.StatusCode)
	}
}
