package proxy

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/session"
)

func TestOutcomes(t *testing.T) {
	f := newFixture(t)
	s := f.session()
	cookies := f.cookies(t, s)
	noAdmin := f.session()
	noAdmin.Identity.Groups = []string{"staff"}
	noAdminCookies := f.cookies(t, noAdmin)
	f.prov.bearers["good"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	f.prov.bearers["weak"] = &portcullis.Identity{Subject: "svc2", Scopes: []string{"read"}}

	tests := []struct {
		name       string
		method     string
		target     string
		opts       []reqOption
		wantStatus int
		wantAuth   string // WWW-Authenticate
		wantLoc    string // Location prefix
		wantBody   string // substring
		wantPath   string // path the upstream saw; "" = no upstream request
	}{
		{name: "public forwarded", method: "GET", target: "/public/x", wantStatus: 200, wantPath: "/public/x"},
		{name: "browser without identity goes to login", method: "GET", target: "/app/x?y=1", opts: []reqOption{browser()},
			wantStatus: 302, wantLoc: "https://idp.test/authorize?"},
		{name: "HEAD browser without identity goes to login", method: "HEAD", target: "/app/x", opts: []reqOption{browser()},
			wantStatus: 302, wantLoc: "https://idp.test/authorize?"},
		{name: "API without identity", method: "GET", target: "/app/x", wantStatus: 401, wantAuth: "Bearer",
			wantBody: `"error":"unauthenticated"`},
		{name: "POST from browser without identity", method: "POST", target: "/app/x", opts: []reqOption{browser()},
			wantStatus: 401, wantAuth: "Bearer"},
		{name: "invalid bearer", method: "GET", target: "/app/x", opts: []reqOption{withHeader("Authorization", "Bearer nope")},
			wantStatus: 401, wantAuth: `Bearer error="invalid_token"`},
		{name: "invalid bearer does not fall back to the cookie", method: "GET", target: "/app/x",
			opts: []reqOption{withHeader("Authorization", "Bearer nope"), withCookies(cookies)}, wantStatus: 401,
			wantAuth: `Bearer error="invalid_token"`},
		{name: "valid bearer allowed", method: "POST", target: "/api/x", opts: []reqOption{withHeader("Authorization", "bearer good")},
			wantStatus: 200, wantPath: "/api/x"},
		{name: "bearer lacking scope", method: "POST", target: "/api/x", opts: []reqOption{withHeader("Authorization", "Bearer weak")},
			wantStatus: 403, wantAuth: `Bearer error="insufficient_scope", scope="api:write"`},
		{name: "browser bearer lacking scope gets no step-up", method: "GET", target: "/api/x",
			opts: []reqOption{browser(), withHeader("Authorization", "Bearer weak")}, wantStatus: 403,
			wantAuth: `Bearer error="insufficient_scope", scope="api:write"`},
		{name: "session allowed", method: "GET", target: "/admin/", opts: []reqOption{withCookies(cookies)},
			wantStatus: 200, wantPath: "/admin/"},
		{name: "group denied as page", method: "GET", target: "/admin/x", opts: []reqOption{browser(), withCookies(noAdminCookies)},
			wantStatus: 403, wantBody: "admins"},
		{name: "group denied as JSON", method: "GET", target: "/admin/x", opts: []reqOption{withCookies(noAdminCookies)},
			wantStatus: 403, wantBody: `"error":"forbidden","reason":`},
		{name: "deny route", method: "GET", target: "/denied/x", opts: []reqOption{withCookies(cookies)}, wantStatus: 403},
		{name: "no route", method: "GET", target: "/nothing", opts: []reqOption{withCookies(cookies)}, wantStatus: 404},
		{name: "dot-segments authorize the normalised path", method: "GET", target: "/public/../admin",
			opts: []reqOption{withCookies(noAdminCookies)}, wantStatus: 403},
		{name: "dot-segments forward the normalised path", method: "GET", target: "/public/../admin",
			opts: []reqOption{withCookies(cookies)}, wantStatus: 200, wantPath: "/admin"},
		{name: "encoded slash refused", method: "GET", target: "/public/..%2Fadmin", wantStatus: 400},
		{name: "ASCII look-alikes refused", method: "GET", target: "/public/%E2%80%A5%EF%BC%8Fadmin", wantStatus: 400,
			wantBody: "the request path is not acceptable"},
		{name: "fullwidth letter refused", method: "GET", target: "/public/%EF%BD%81", wantStatus: 400},
		{name: "C1 control refused", method: "GET", target: "/public/a%C2%85b", wantStatus: 400,
			wantBody: "the request path is not acceptable"},
		{name: "line separator refused", method: "GET", target: "/public/a%E2%80%A8b", wantStatus: 400,
			wantBody: "the request path is not acceptable"},
		{name: "continuation bytes 0x80-0x9F forwarded", method: "GET", target: "/public/%C4%85%D0%91", wantStatus: 200, wantPath: "/public/ąБ"},
		{name: "accented path forwarded", method: "GET", target: "/public/caf%C3%A9", wantStatus: 200, wantPath: "/public/café"},
		{name: "lower-case method refused", method: "get", target: "/public/x", wantStatus: 400},
		{name: "two Authorization headers", method: "GET", target: "/app/x",
			opts: []reqOption{withHeader("Authorization", "Bearer good"), withHeader("Authorization", "Bearer good")}, wantStatus: 400,
			wantBody: "invalid_request"},
		{name: "token in query", method: "GET", target: "/app/x?access_token=good", wantStatus: 400, wantBody: "invalid_request"},
		{name: "unrelated query with the word", method: "GET", target: "/app/x?q=access_tokens", opts: []reqOption{withCookies(cookies)},
			wantStatus: 200, wantPath: "/app/x"},
		{name: "oversized cookie", method: "GET", target: "/public/x",
			opts: []reqOption{withHeader("Cookie", "big="+strings.Repeat("a", 17<<10))}, wantStatus: 431},
		{name: "oversized headers", method: "GET", target: "/public/x",
			opts: []reqOption{withHeader("X-A", strings.Repeat("a", 17<<10)), withHeader("X-B", strings.Repeat("b", 17<<10))}, wantStatus: 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.up.count()
			resp := f.do(t, tt.method, tt.target, nil, tt.opts...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("WWW-Authenticate"); got != tt.wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantAuth)
			}
			if !strings.HasPrefix(resp.Header.Get("Location"), tt.wantLoc) {
				t.Errorf("Location = %q, want prefix %q", resp.Header.Get("Location"), tt.wantLoc)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %q does not contain %q", body, tt.wantBody)
			}
			forwarded := f.up.count() > before
			if forwarded != (tt.wantPath != "") {
				t.Fatalf("forwarded = %v, want path %q", forwarded, tt.wantPath)
			}
			if forwarded {
				if got := f.up.last(t).Path; got != tt.wantPath {
					t.Errorf("upstream path = %q, want %q", got, tt.wantPath)
				}
			} else if resp.StatusCode >= 400 && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("gateway page without Cache-Control: no-store")
			}
		})
	}
}

func TestErrorPagesEscapeInput(t *testing.T) {
	f := newFixture(t)
	resp := f.do(t, "GET", "/gw-none/<script>", nil, browser())
	body := readBody(t, resp)
	if strings.Contains(body, "<script>") {
		t.Fatalf("page echoes raw input: %s", body)
	}
}

// failingStore is a session store that cannot be reached.
type failingStore struct{ session.Store }

func (failingStore) Load(*http.Request) (*session.Session, error) {
	return nil, errors.New("redis: connection refused")
}

func TestSessionStoreDownIsNeverAnUnauthenticatedPass(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Sessions = failingStore{c.Sessions} })
	for _, opts := range [][]reqOption{{browser()}, nil} {
		resp := f.do(t, "GET", "/app/x", nil, opts...)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status = %d, want 503 (no login loop, no pass)", resp.StatusCode)
		}
	}
	// Forward-auth answers the same 503 (docs/forward-auth.md), never the
	// 401 that sends a signed-in user to sign in again.
	for _, opts := range [][]reqOption{{browser()}, nil} {
		opts = append(opts, fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/app/x"))
		resp := f.do(t, "GET", "/oauth2/auth", nil, opts...)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("X-Auth-Request-User") != "" {
			t.Fatalf("forward-auth status = %d, want 503 without identity headers", resp.StatusCode)
		}
	}
	if f.up.count() != 0 {
		t.Fatal("a request reached the upstream while the store was down")
	}
	// Public routes need no session and keep working.
	if resp := f.do(t, "GET", "/public/x", nil); resp.StatusCode != 200 {
		t.Fatalf("public route status = %d, want 200", resp.StatusCode)
	}
}

func TestTokenInFormBody(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	tests := []struct {
		name, body string
		want       int
	}{
		{"access_token parameter", "a=1&access_token=x", 400},
		{"no token", "a=1&b=access_tokenish", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.do(t, "POST", "/app/form", strings.NewReader(tt.body), withCookies(cookies),
				withHeader("Content-Type", "application/x-www-form-urlencoded"))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 200 {
				if got := f.up.last(t).Body; got != tt.body {
					t.Errorf("upstream body = %q, want %q", got, tt.body)
				}
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		in     string
		tok    string
		bearer bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BEARER  abc", "abc", true},
		{"Bearer", "", true},
		{"Bearerabc", "", true}, // a malformed bearer attempt: invalid_token, never the cookie
		{"Bearer\tabc", "", true},
		{"Bearer:abc", "", true},
		{"Basic dXNlcjpwYXNz", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		tok, ok := bearerToken(tt.in)
		if tok != tt.tok || ok != tt.bearer {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tt.in, tok, ok, tt.tok, tt.bearer)
		}
	}
}

func TestUserinfo(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	resp := f.do(t, "GET", "/oauth2/userinfo", nil, withCookies(cookies))
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `"sub":"alice"`) || !strings.Contains(body, `"groups":["admins","staff"]`) {
		t.Fatalf("userinfo = %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "at-0") || strings.Contains(body, "rt-0") || strings.Contains(body, "idt-0") {
		t.Fatalf("userinfo leaks a token: %s", body)
	}
	if resp := f.do(t, "GET", "/oauth2/userinfo", nil); resp.StatusCode != 401 {
		t.Fatalf("userinfo without identity = %d, want 401", resp.StatusCode)
	}
}
