package proxy

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/policy"
)

// methodRoutes reads are public, writes need the group writers; admin.test
// is closed whatever the path.
var methodRoutes = []policy.RouteConfig{
	{Host: "admin.test", Path: "/**", Deny: true},                                                            // 0
	{Path: "/res/**", Methods: []string{"GET"}, Public: true},                                                // 1
	{Path: "/res/**", Methods: []string{"POST", "PUT", "PATCH", "DELETE"}, AllowGroups: []string{"writers"}}, // 2
	{Path: "/admin/**", AllowGroups: []string{"admins"}},                                                     // 3
	{Path: "/public/**", Public: true},                                                                       // 4
}

func withRoutes(tb testing.TB, routes []policy.RouteConfig) fixtureOption {
	tb.Helper()
	table, err := policy.Compile(routes)
	if err != nil {
		tb.Fatal(err)
	}
	return func(c *Config) { c.Routes = table }
}

// TestForwardAuthOriginalRequest: forward-auth decides exactly the request
// the front proxy names, refuses headers that name two requests, and with
// no method named answers for every method. Each "regression" case was
// answered 200 before.
func TestForwardAuthOriginalRequest(t *testing.T) {
	f := newFixture(t, withRoutes(t, methodRoutes))
	alice := f.cookies(t, f.session()) // admins, staff
	f.prov.bearers["writer"] = &portcullis.Identity{Subject: "w", Groups: []string{"writers"}}
	trusted := fromPeer("10.0.0.5:4000")
	h := withHeader
	tests := []struct {
		name     string
		opts     []reqOption
		want     int
		wantUser string
	}{
		{"regression: client X-Forwarded-Uri beside X-Original-URL", []reqOption{h("X-Original-URL", "http://app.test/admin/secret"),
			h("X-Forwarded-Method", "DELETE"), h("X-Forwarded-Uri", "/public/x")}, 400, ""},
		{"regression: X-Original-Method is the method", []reqOption{h("X-Original-URL", "http://app.test/res/x"),
			h("X-Original-Method", "DELETE")}, 401, ""},
		{"regression: X-Original-Method denied", []reqOption{h("X-Original-URL", "http://app.test/res/x"),
			h("X-Original-Method", "PUT"), withCookies(alice)}, 403, ""},
		{"regression: no method named is every method", []reqOption{h("X-Original-URL", "http://app.test/res/x")}, 401, ""},
		{"no method named, identity lacking a write group", []reqOption{h("X-Original-URL", "http://app.test/res/x"), withCookies(alice)}, 403, ""},
		// OPTIONS (and every method no route names) has no route under /res.
		{"no method named, writer", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("Authorization", "Bearer writer")}, 403, ""},
		{"no method named, route for every method", []reqOption{h("X-Original-URL", "http://app.test/admin/x"), withCookies(alice)}, 200, "alice"},
		{"no method named, public for every method", []reqOption{h("X-Original-URL", "http://app.test/public/x")}, 200, ""},
		{"GET public", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("X-Original-Method", "GET")}, 200, ""},
		{"methods differ", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("X-Original-Method", "DELETE"),
			h("X-Forwarded-Method", "GET")}, 400, ""},
		{"methods agree", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("X-Original-Method", "GET"),
			h("X-Forwarded-Method", "GET")}, 200, ""},
		{"lower-case forwarded method", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("X-Forwarded-Method", "delete")}, 400, ""},
		{"repeated method", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("X-Forwarded-Method", "GET"),
			h("X-Forwarded-Method", "DELETE")}, 400, ""},
		{"repeated uri", []reqOption{h("X-Forwarded-Host", "app.test"), h("X-Forwarded-Uri", "/res/x"),
			h("X-Forwarded-Uri", "/admin/x"), h("X-Forwarded-Method", "GET")}, 400, ""},
		{"hosts differ", []reqOption{h("X-Original-URL", "http://app.test/res/x"), h("X-Forwarded-Host", "admin.test"),
			h("X-Forwarded-Uri", "/res/x"), h("X-Forwarded-Method", "GET")}, 400, ""},
		{"sources agree", []reqOption{h("X-Original-URL", "http://App.Test./res/./x?a=1"), h("X-Forwarded-Host", "app.test"),
			h("X-Forwarded-Uri", "/res/x?a=1"), h("X-Forwarded-Method", "GET")}, 200, ""},
		{"queries differ", []reqOption{h("X-Original-URL", "http://app.test/res/x?a=1"), h("X-Forwarded-Host", "app.test"),
			h("X-Forwarded-Uri", "/res/x?a=2"), h("X-Forwarded-Method", "GET")}, 400, ""},
		{"X-Original-URI", []reqOption{h("X-Forwarded-Host", "app.test"), h("X-Original-URI", "/res/x"), h("X-Forwarded-Method", "POST")}, 401, ""},
		{"X-Original-URI differs", []reqOption{h("X-Forwarded-Host", "app.test"), h("X-Original-URI", "/public/x"),
			h("X-Forwarded-Uri", "/res/x"), h("X-Forwarded-Method", "GET")}, 400, ""},
		{"host rule on the forwarded host", []reqOption{h("X-Forwarded-Host", "admin.test:80:1"), h("X-Forwarded-Uri", "/public/x"),
			h("X-Forwarded-Method", "GET")}, 400, ""},
		{"host rule on X-Original-URL", []reqOption{h("X-Original-URL", "http://admin.test::/public/x"), h("X-Forwarded-Method", "GET")}, 400, ""},
		{"forwarded host canonical", []reqOption{h("X-Forwarded-Host", "ADMIN.test.:8443"), h("X-Forwarded-Uri", "/public/x"),
			h("X-Forwarded-Method", "GET")}, 403, ""},
		{"userinfo in X-Original-URL", []reqOption{h("X-Original-URL", "http://u@app.test/public/x"), h("X-Forwarded-Method", "GET")}, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, "GET", "/oauth2/auth", nil, append(tt.opts, trusted, h("Accept", "application/json"))...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if got := resp.Header.Get("X-Auth-Request-User"); got != tt.wantUser {
				t.Errorf("X-Auth-Request-User = %q, want %q", got, tt.wantUser)
			}
		})
	}
	if f.up.count() != 0 {
		t.Error("forward-auth forwarded a request upstream")
	}
}

// TestProxyModeMethods: the same method rules in proxy mode, for every
// write method.
func TestProxyModeMethods(t *testing.T) {
	f := newFixture(t, withRoutes(t, methodRoutes))
	alice := f.cookies(t, f.session())
	f.prov.bearers["writer"] = &portcullis.Identity{Subject: "w", Groups: []string{"writers"}}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		before := f.up.count()
		if resp := f.do(t, m, "/res/x", strings.NewReader("{}")); resp.StatusCode != 401 {
			t.Errorf("anonymous %s: %d, want 401", m, resp.StatusCode)
		}
		if resp := f.do(t, m, "/res/x", strings.NewReader("{}"), withCookies(alice)); resp.StatusCode != 403 {
			t.Errorf("alice %s: %d, want 403", m, resp.StatusCode)
		}
		if f.up.count() != before {
			t.Errorf("%s: a refused request reached the upstream", m)
		}
		if resp := f.do(t, m, "/res/x", strings.NewReader("{}"), withHeader("Authorization", "Bearer writer")); resp.StatusCode != 200 {
			t.Errorf("writer %s: %d, want 200", m, resp.StatusCode)
		}
		if got := f.up.last(t); got.Method != m || got.Header.Get("X-Forwarded-User") != "w" {
			t.Errorf("writer %s: upstream saw %s user %q", m, got.Method, got.Header.Get("X-Forwarded-User"))
		}
	}
}

// TestHostRule: the Host is parsed once, strictly; the parsed host decides
// the route and is what the upstream gets with preserve_host. The
// "admin.test:80:1" cases were forwarded before (read as a bare IPv6
// address, they skipped the host's deny rule).
func TestHostRule(t *testing.T) {
	f := newFixture(t, withRoutes(t, methodRoutes), func(c *Config) { c.Upstreams[0].PreserveHost = true })
	for _, host := range []string{"admin.test:80:1", "admin.test::", "admin.test:", "admin.test:0", "u@admin.test",
		"admin.test :80", "admin..test", "[::1]x", strings.Repeat("a", 300)} {
		resp := f.do(t, "GET", "/public/x", nil, func(r *http.Request) { r.Host = host })
		if resp.StatusCode != 400 {
			t.Errorf("Host %q: %d, want 400", host, resp.StatusCode)
		}
	}
	if f.up.count() != 0 {
		t.Fatal("a request with a bad Host reached the upstream")
	}
	if resp := f.do(t, "GET", "/public/x", nil, func(r *http.Request) { r.Host = "ADMIN.Test.:8443" }); resp.StatusCode != 403 {
		t.Errorf("ADMIN.Test.:8443 is admin.test: %d, want 403", resp.StatusCode)
	}
	if resp := f.do(t, "GET", "/public/x", nil, func(r *http.Request) { r.Host = "App.Test.:8443" }); resp.StatusCode != 200 {
		t.Fatalf("App.Test.:8443: %d", resp.StatusCode)
	}
	if got := f.up.last(t).Host; got != "app.test:8443" {
		t.Errorf("preserve_host sent %q, want the canonical app.test:8443", got)
	}
}

// TestForwardAuthRefreshSetsCookie: a session refreshed while answering
// /auth sets its cookie on the /auth reply, for the front proxy to pass on.
func TestForwardAuthRefreshSetsCookie(t *testing.T) {
	f := newFixture(t)
	s := f.session()
	s.Expiry = f.clock.Now().Add(10 * time.Second)
	cookies := f.cookies(t, s)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		return &idp.Tokens{AccessToken: "at-2", RefreshToken: "rt-2", Expiry: f.clock.Now().Add(time.Hour)}, nil, nil
	}
	resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:1"), withCookies(cookies),
		withHeader("X-Original-URL", "https://app.test/app/x"), withHeader("X-Original-Method", "GET"))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("status %d, refreshes %d", resp.StatusCode, f.prov.refreshes.Load())
	}
	found := false
	for _, c := range resp.Cookies() {
		found = found || (c.Name == "portcullis" && c.Value != "")
	}
	if !found {
		t.Errorf("no session cookie on the /auth reply: %v", resp.Header["Set-Cookie"])
	}
}

// TestForwardAuthLogLine: the request log line names the original request,
// not the /auth subrequest; the metrics outcome follows the decision.
func TestForwardAuthLogLine(t *testing.T) {
	var buf bytes.Buffer
	f := newFixture(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:1"),
		withHeader("X-Original-URL", "https://App.Test/denied/x?secret=1"), withHeader("X-Original-Method", "DELETE"))
	line := buf.String()
	for _, want := range []string{"method=DELETE", "host=app.test", "path=/denied/x", "outcome=denied", "status=403"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s:\n%s", want, line)
		}
	}
	if strings.Contains(line, "/oauth2/auth") || strings.Contains(line, "secret") {
		t.Errorf("log line names the subrequest or the query:\n%s", line)
	}
}

// TestErrorsNegotiated: answers that used to write JSON themselves go
// through the one error mapping: a browser gets the page. The forward-auth
// endpoint's answer to an untrusted peer is the exception: JSON whatever
// the request accepts.
func TestErrorsNegotiated(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		method, target string
		opts           []reqOption
		status         int
	}{
		{"POST", "/oauth2/jwks.json", nil, 405},
		{"PUT", "/oauth2/sign_out", nil, 405},
		{"GET", "/oauth2/backchannel_logout", nil, 405},
	} {
		resp := f.do(t, tc.method, tc.target, nil, append(tc.opts, browser())...)
		body := readBody(t, resp)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(body, "<!DOCTYPE html>") {
			t.Errorf("%s %s as a browser: %d %q", tc.method, tc.target, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		resp = f.do(t, tc.method, tc.target, nil, tc.opts...)
		body = readBody(t, resp)
		if resp.StatusCode != tc.status || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s as an API client: %d %q %s", tc.method, tc.target, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.target)
		}
	}
	for _, opts := range [][]reqOption{nil, {browser()}} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, opts...)
		if body := readBody(t, resp); resp.StatusCode != 403 || strings.TrimSpace(body) != `{"error":"untrusted_proxy"}` {
			t.Errorf("untrusted proxy: %d %s", resp.StatusCode, body)
		}
	}
}

// TestForwardAuthPolicySpan: forward-auth goes through the same decision
// function, policy span included.
func TestForwardAuthPolicySpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, func(c *Config) { c.Tracer = tp })
	resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:1"), withCookies(f.cookies(t, f.session())),
		withHeader("X-Original-URL", "https://app.test/denied/x"), withHeader("X-Original-Method", "GET"))
	if resp.StatusCode != 403 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
		if s.Name() == "policy.evaluate" && spanAttrs(s)["portcullis.decision"] != "denied" {
			t.Errorf("policy span: %v", spanAttrs(s))
		}
	}
	if len(names) != 2 || names[0] != "policy.evaluate" {
		t.Errorf("spans = %v, want policy.evaluate then the server span", names)
	}
}
