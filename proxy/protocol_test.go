package proxy

// Protocol-level differentials between what the gateway decides and what an
// upstream acts on: request targets, header spellings, trailing slashes.

import (
	"bufio"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/testenv"
	"github.com/portcullis/portcullis/policy"
)

// rawUpstream records each request head exactly as it arrives on the wire
// and answers 200 to every request.
type rawUpstream struct {
	ln    net.Listener
	mu    sync.Mutex
	heads []string
}

func newRawUpstream(t *testing.T) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					_ = c.SetDeadline(time.Now().Add(5 * time.Second))
					var head strings.Builder
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
					}
					u.mu.Lock()
					u.heads = append(u.heads, head.String())
					u.mu.Unlock()
					_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
				}
			}(c)
		}
	}()
	return u
}

func (u *rawUpstream) requestLines() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []string
	for _, h := range u.heads {
		line, _, _ := strings.Cut(h, "\r\n")
		out = append(out, line)
	}
	return out
}

// opaqueRoutes: admins only under /admin, a public landing page at "/" and,
// for signed-in users, everything else.
var opaqueRoutes = []policy.RouteConfig{
	{Path: "/admin/**", AllowGroups: []string{"admins"}},
	{Path: "/", Public: true},
	{Path: "/**"},
}

func opaqueGateway(t *testing.T) (*fixture, *rawUpstream) {
	t.Helper()
	up := newRawUpstream(t)
	f := newFixture(t, withRoutes(t, opaqueRoutes), func(c *Config) {
		c.Upstreams = []Upstream{{Name: "app", URL: mustURL(t, "http://"+up.ln.Addr().String())}}
	})
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	return f, up
}

// TestOpaqueRequestTarget: a request-target with a scheme and a
// rootless path ("x:admin/secret", RFC 3986 absolute-URI, which Go's server
// accepts) parses to url.URL{Opaque: "admin/secret", Path: ""}. The gateway
// normalises Path ("" -> "/") and decides "/", but rewrite leaves
// out.URL.Opaque in place, and URL.RequestURI() puts the opaque part on the
// upstream's request line unchecked: "GET admin/secret HTTP/1.1". Werkzeug
// (Flask, under gunicorn too) routes that as /admin/secret. Forward-auth
// already refuses an opaque X-Original-URL (forwardauth.go); proxy mode
// should refuse (400) such a target as well.
func TestOpaqueRequestTarget(t *testing.T) {
	f, up := opaqueGateway(t)
	srv := serveGateway(t, f)
	for _, raw := range []string{
		// anonymous: decided as the public "/"
		"GET x:admin/secret HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		"GET http:admin/secret HTTP/1.1\r\nHost: gw.test\r\n\r\n",
		// signed in, not an admin: decided as "/" under "/**"
		"DELETE x:admin/users/1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer bob-token\r\n\r\n",
		// the path is not normalised either
		"GET x:public/%2e%2e/admin/secret HTTP/1.1\r\nHost: gw.test\r\n\r\n",
	} {
		before := len(up.requestLines())
		resp := rawRequest(t, srv, raw, false)
		if got := up.requestLines(); resp.StatusCode != http.StatusBadRequest || len(got) != before {
			t.Errorf("%q: status %d, want 400; the upstream received %q",
				strings.SplitN(raw, "\r\n", 2)[0], resp.StatusCode, got[before:])
		}
	}
}

// TestOpaqueRequestTargetHTTP2: the same over HTTP/2, with
// ":path: x:admin/secret" (Go's HTTP/2 server hands it to ParseRequestURI
// as well).
func TestOpaqueRequestTargetHTTP2(t *testing.T) {
	f, up := opaqueGateway(t)
	addr := serveHTTP2(t, f)
	status := h2Status(t, addr, [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", "x:admin/secret"}})
	if got := up.requestLines(); (status != "400" && status != "reset") || len(got) != 0 {
		t.Errorf(":path x:admin/secret: status %s, want 400; the upstream received %q", status, got)
	}
}

// TestHTTP2RequestNamesOneHost: Go's HTTP/2 server decides the host by
// :authority and keeps a Host field sent besides it in the header, and
// parses an absolute-form :path into r.URL with its own host; neither was
// checked. A request naming two hosts (RFC 9113 §8.3.1 calls it malformed)
// was decided and forwarded under :authority's while a component in front
// that read the other decided another request. It is a 400 now; a Host
// field or absolute :path that names the same host passes.
func TestHTTP2RequestNamesOneHost(t *testing.T) {
	f := newFixture(t)
	addr := serveHTTP2(t, f)
	req := func(authority, path string, extra ...[2]string) [][2]string {
		fs := [][2]string{{":method", "GET"}, {":scheme", "https"}}
		if authority != "" {
			fs = append(fs, [2]string{":authority", authority})
		}
		return append(append(fs, [2]string{":path", path}), extra...)
	}
	for _, tc := range []struct {
		name   string
		fields [][2]string
		want   string
	}{
		{"Host field names another host", req("gw.test", "/public/x", [2]string{"host", "other.test"}), "400"},
		{"Host field is malformed", req("gw.test", "/public/x", [2]string{"host", "gw.test:80:1"}), "400"},
		{"second Host field differs", req("", "/public/x", [2]string{"host", "gw.test"}, [2]string{"host", "other.test"}), "400"},
		{"absolute :path names another host", req("gw.test", "https://other.test/public/x"), "400"},
		{"absolute :path names another port", req("gw.test", "https://gw.test:8443/public/x"), "400"},
		{"Host field names the same host", req("gw.test", "/public/x", [2]string{"host", "GW.test."}), "200"},
		{"Host field alone", req("", "/public/x", [2]string{"host", "gw.test"}), "200"},
		{"absolute :path names the same host", req("gw.test", "https://gw.test/public/x"), "200"},
		{":authority alone", req("gw.test", "/public/x"), "200"},
	} {
		before := f.up.count()
		status := h2Status(t, addr, tc.fields)
		reached := f.up.count() > before
		if status != tc.want || reached != (tc.want == "200") {
			t.Errorf("%s: status %s, want %s; the upstream received it: %v", tc.name, status, tc.want, reached)
		}
	}
}

// serveHTTP2 serves f's handler over TLS with HTTP/2 until the test ends
// and returns its address.
func serveHTTP2(t *testing.T, f *fixture) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(f.h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// h2Status sends one bodyless HTTP/2 request with the fields given, on a
// connection of its own, and returns the answer's :status, or "reset" when
// the server refused the stream or the connection at the protocol level.
func h2Status(t *testing.T, addr string, fields [][2]string) string {
	t.Helper()
	fr := h2Dial(t, addr)
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: testenv.H2Fields(fields), EndStream: true, EndHeaders: true})
	return h2Answer(t, fr)
}

// h2Answer reads frames until stream 1's :status ("reset" for a
// RST_STREAM or GOAWAY), acknowledging the server's SETTINGS.
func h2Answer(t *testing.T, fr *http2.Framer) string {
	t.Helper()
	return testenv.H2AnswerField(t, fr, ":status")
}

// TestPeerClaimHeaderSpellings: from a peer outside trusted_proxies
// the client-address headers (X-Real-IP, True-Client-IP, ...) are deleted
// by their canonical key only (peerclaims.go peerClaimHeaders, an exact
// delete), so "X_Real_IP: 127.0.0.1" reaches the upstream. gunicorn 20
// (Debian 12's) and PHP turn it into HTTP_X_REAL_IP, which Flask's
// request.headers["X-Real-IP"] and PHP's $_SERVER read as the client's
// address. alwaysScrubbed folds "_" for X-Forwarded-For/Proto/Host for
// exactly this reason; the peer-claim list does not.
func TestPeerClaimHeaderSpellings(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f) // the peer, 127.0.0.1, is not in 10.0.0.0/8
	resp := rawRequest(t, srv, "GET /public/x HTTP/1.1\r\nHost: gw.test\r\n"+
		"X_Real_IP: 127.0.0.1\r\nTrue_Client_IP: 127.0.0.1\r\nCF_Connecting_IP: 127.0.0.1\r\nX_Forwarded_Ssl: on\r\n\r\n", false)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k := range f.up.last(t).Header {
		for _, name := range peerClaimHeaders {
			if len(k) == len(name) && foldEqual(k, foldHeaderName(name)) {
				t.Errorf("%q from an untrusted peer reached the upstream (read there as %s)", k, name)
			}
		}
	}
}

// TestDotSpelledIdentityHeader: identity headers are scrubbed with
// "_" read as "-", but not ".", a token character Go's server accepts.
// PHP registers $_SERVER names with "." turned into "_" (the built-in
// server, and PHP-FPM behind a FastCGI front such as Caddy's php_fastcgi),
// so "X.Forwarded.User: mallory" becomes HTTP_X_FORWARDED_USER. Go's
// transport writes header keys sorted, "X-Forwarded-User" before
// "X.forwarded.user", so the client's value is registered last and wins
// over the gateway's; on a public route it is the only one. Checked by
// hand: php -S answers HTTP_X_FORWARDED_USER=mallory to that ordering.
func TestDotSpelledIdentityHeader(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	cookie := ""
	for _, c := range f.cookies(t, f.session()) {
		cookie += c.Name + "=" + c.Value + "; "
	}
	for _, target := range []string{"/public/x", "/app/x"} {
		before := f.up.count()
		resp := rawRequest(t, srv, "GET "+target+" HTTP/1.1\r\nHost: gw.test\r\nCookie: "+cookie+"\r\n"+
			"X.Forwarded.User: mallory\r\nX.Forwarded-Groups: admins\r\n\r\n", false)
		if resp.StatusCode != http.StatusOK || f.up.count() == before {
			t.Fatalf("%s: status %d", target, resp.StatusCode)
		}
		for k, v := range f.up.last(t).Header {
			php := strings.NewReplacer(".", "-", "_", "-").Replace(k)
			if k != http.CanonicalHeaderKey(php) && f.h.scrub.has(php) {
				t.Errorf("%s: %q: %q reached the upstream, which PHP reads as %s", target, k, v, php)
			}
		}
	}
}

// TestTrailingSlashSkipsRoute: "*" is one non-empty segment and a
// literal matches exactly, so "/api/users/42/" and "/reports/" skip the
// narrow route and fall to the broad one. Rails (Journey strips the
// trailing slash), Laravel (Request::path() trims it), Express (strict
// routing is off by default) and Spring MVC 5 (trailing-slash match on by
// default) serve them as "/api/users/42" and "/reports". A non-admin's
// DELETE is refused without the slash and forwarded with it.
func TestTrailingSlashSkipsRoute(t *testing.T) {
	f := newFixture(t, withRoutes(t, []policy.RouteConfig{
		{Path: "/api/users/*", Methods: []string{"DELETE"}, AllowGroups: []string{"admins"}},
		{Path: "/reports", AllowGroups: []string{"admins"}},
		{Path: "/docs/", Public: true},
		{Path: "/**"},
	}))
	f.prov.bearers["bob-token"] = &portcullis.Identity{Subject: "bob", Groups: []string{"staff"}}
	for _, c := range []struct{ method, path string }{{"DELETE", "/api/users/42"}, {"GET", "/reports"}} {
		without := f.do(t, c.method, c.path, nil, withHeader("Authorization", "Bearer bob-token"))
		with := f.do(t, c.method, c.path+"/", nil, withHeader("Authorization", "Bearer bob-token"))
		if without.StatusCode != with.StatusCode {
			t.Errorf("%s %s: %d, but %s/: %d (forwarded to an app that ignores the trailing slash)",
				c.method, c.path, without.StatusCode, c.path, with.StatusCode)
		}
	}
	// A route for the path with its slash, and none without: decided as is.
	if resp := f.do(t, "GET", "/docs/", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /docs/ (public, no route for /docs but /**): %d", resp.StatusCode)
	}
}

// h2Dial opens an HTTP/2 connection to addr (closed when the test ends),
// sends the preface and its SETTINGS, and returns its framer.
func h2Dial(t *testing.T, addr string) *http2.Framer {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	return fr
}

// TestHTTP2FieldsNeverForwarded pins what an HTTP/2 client can send that
// HTTP/1.1 cannot spell, against Go upgrades that change it: the
// connection-specific fields RFC 9113 §8.2.2 forbids, a TE other than
// "trailers", a CONNECT and an extended CONNECT (RFC 8441, a WebSocket
// over HTTP/2: Go announces it only with GODEBUG=http2xconnect=1, and the
// gateway refuses CONNECT before routing) are refused and never reach the
// upstream; a Cookie split into several fields (§8.2.3) is joined, so the
// session is found and the gateway's cookie is still removed. A raw space in
// :path, which no HTTP/1.1 request line can carry, goes upstream as the
// "%20" that was decided.
func TestHTTP2FieldsNeverForwarded(t *testing.T) {
	f := newFixture(t)
	addr := serveHTTP2(t, f)
	get := func(path string, extra ...[2]string) [][2]string {
		return append([][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", path}}, extra...)
	}
	for _, kv := range [][2]string{{"connection", "close"}, {"keep-alive", "1"}, {"proxy-connection", "x"},
		{"transfer-encoding", "chunked"}, {"upgrade", "h2c"}, {"te", "gzip"}} {
		before := f.up.count()
		if status := h2Status(t, addr, get("/public/x", kv)); (status != "400" && status != "reset") || f.up.count() != before {
			t.Errorf("%s: %s: status %s, want 400; forwarded: %v", kv[0], kv[1], status, f.up.count() != before)
		}
	}
	for name, fields := range map[string][][2]string{
		"CONNECT":          {{":method", "CONNECT"}, {":authority", "gw.test:443"}},
		"extended CONNECT": {{":method", "CONNECT"}, {":protocol", "websocket"}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", "/public/ws"}},
	} {
		before := f.up.count()
		if status := h2Status(t, addr, fields); (status != "405" && status != "reset") || f.up.count() != before {
			t.Errorf("%s: status %s, want 405; forwarded: %v", name, status, f.up.count() != before)
		}
	}
	if status := h2Status(t, addr, get("/public/a b")); status != "200" || f.up.last(t).RequestURI != "/public/a%20b" {
		t.Errorf(":path with a raw space: status %s, the upstream received %q", status, f.up.last(t).RequestURI)
	}
	fields := get("/app/x", [2]string{"cookie", "a=1"})
	for _, c := range f.cookies(t, f.session()) {
		fields = append(fields, [2]string{"cookie", c.String()}, [2]string{"cookie", "b=2"})
	}
	if status := h2Status(t, addr, fields); status != "200" {
		t.Fatalf("split Cookie fields: status %s, want 200", status)
	}
	got := f.up.last(t)
	if cookie := strings.Join(got.Header["Cookie"], "; "); strings.Contains(cookie, "portcullis") || !strings.Contains(cookie, "a=1") {
		t.Errorf("split Cookie fields: the upstream received Cookie %q", cookie)
	}
	if user := got.Header.Get("X-Forwarded-User"); user != "alice" {
		t.Errorf("split Cookie fields: X-Forwarded-User %q, want alice", user)
	}
}
