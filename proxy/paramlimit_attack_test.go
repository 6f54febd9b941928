package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestParametersPastParseQueryLimitStillDecided replays CVE-2026-39825:
// url.ParseQuery reads nothing of a query or form of more than 10,000
// parameters (GODEBUG urlmaxqueryparams), while ReverseProxy forwarded such
// a query whole, so a parameter hid from whatever read it with ParseQuery
// and still reached the application, which reads the first parameters
// (PHP's max_input_vars, Express's parameterLimit keep 1,000). Here the
// gateway's own readings of _method and access_token come first and 10,001
// empty parameters after them, in the query and in a form: each is still
// found and decided, and a public request's query reaches the application
// as sent. Forward-auth reads an X-Forwarded-Uri so padded the same way.
func TestParametersPastParseQueryLimitStillDecided(t *testing.T) {
	f := overrideFixture(t)
	bobSession := f.session()
	bobSession.Identity.Subject, bobSession.Identity.Groups = "bob", []string{"staff"}
	bob := f.cookies(t, bobSession)
	form := withHeader("Content-Type", "application/x-www-form-urlencoded")
	pad := strings.Repeat("&", 10001)
	tests := []struct {
		name, target, body string
		opts               []reqOption
		want               int
	}{
		{"query override", "/items/1?_method=DELETE" + pad, "", []reqOption{withCookies(bob)}, http.StatusForbidden},
		{"form override", "/items/1", "_method=delete" + pad, []reqOption{withCookies(bob), form}, http.StatusForbidden},
		{"query token", "/items/1?access_token=x" + pad, "", nil, http.StatusBadRequest},
		{"form token", "/items/1", "access_token=x" + pad, []reqOption{form}, http.StatusBadRequest},
		{"public query", "/public/x?a=1" + pad + "b=2", "", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.up.count()
			resp := f.do(t, "POST", tt.target, strings.NewReader(tt.body), tt.opts...)
			body := readBody(t, resp)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %.200s", resp.StatusCode, tt.want, body)
			}
			if tt.want != http.StatusOK {
				if f.up.count() != before {
					t.Fatal("a refused request reached the upstream")
				}
				return
			}
			_, query, _ := strings.Cut(tt.target, "?")
			if _, got, _ := strings.Cut(f.up.last(t).RequestURI, "?"); got != query {
				t.Errorf("the upstream got a query of %d bytes, want the %d sent", len(got), len(query))
			}
		})
	}
}

// TestForwardAuthParametersPastParseQueryLimitDecided is the forward-auth
// half of TestParametersPastParseQueryLimitStillDecided: the front proxy
// names the query in X-Forwarded-Uri and the application receives it.
func TestForwardAuthParametersPastParseQueryLimitDecided(t *testing.T) {
	f := overrideFixture(t)
	s := f.session()
	s.Identity.Groups = []string{"staff"}
	bob := f.cookies(t, s)
	pad := strings.Repeat("&", 10001)
	for uri, want := range map[string]int{
		"/items/1?a=1" + pad:                 http.StatusOK,
		"/items/1?_method=DELETE" + pad:      http.StatusForbidden,
		"/items/1?a=1" + pad + "_method=PUT": http.StatusForbidden,
	} {
		resp := f.do(t, "GET", "/oauth2/auth", nil, fromPeer("10.0.0.5:4000"), withCookies(bob),
			withHeader("X-Forwarded-Method", "POST"), withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", uri))
		if resp.StatusCode != want {
			t.Errorf("%.40s…: status %d, want %d", uri, resp.StatusCode, want)
		}
	}
}
