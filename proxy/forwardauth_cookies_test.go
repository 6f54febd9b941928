package proxy

import (
	"net/http"
	"reflect"
	"testing"
)

// TestForwardAuthAnswerCookies: an allowed forward-auth answer carries, as
// its Cookie header, the request's cookies but the gateway's, for the front
// proxy to send the app in place of the browser's; none when nothing is
// left, and none on a refusal.
func TestForwardAuthAnswerCookies(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	session := cookies[0].Name + "=" + cookies[0].Value
	orig := []reqOption{fromPeer("10.0.0.5:4000"), withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "app.test")}
	for _, c := range []struct {
		name  string
		uri   string
		lines []string
		want  []string
	}{
		{"around the session", "/app/x", []string{"a=1; " + session + `; portcullis_x=2; x__Host-portcullis=3; q="a b"; e=; a=4`},
			[]string{`a=1; portcullis_x=2; x__Host-portcullis=3; q="a b"; e=; a=4`}},
		{"several lines", "/app/x", []string{"a=1", session, "portcullis_login_s=x; b=2"}, []string{"a=1; b=2"}},
		{"the gateway's only", "/app/x", []string{session + "; portcullis_login_s=x"}, nil},
		{"public route, no gateway cookie", "/public/x", []string{"a=1; b=2"}, []string{"a=1; b=2"}},
		{"public route, blank", "/public/x", []string{" "}, nil},
		{"no cookie", "/public/x", nil, nil},
		{"denied", "/denied/x", []string{"a=1; " + session}, nil},
		{"anonymous", "/app/x", []string{"a=1"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := append(orig, withHeader("X-Forwarded-Uri", c.uri), func(r *http.Request) { r.Header["Cookie"] = c.lines })
			resp := f.do(t, "GET", "/oauth2/auth", nil, opts...)
			readBody(t, resp)
			if got := resp.Header["Cookie"]; !reflect.DeepEqual(got, c.want) {
				t.Errorf("%d: Cookie %q, want %q", resp.StatusCode, got, c.want)
			}
			// Envoy keeps the request's Cookie when the answer has none.
			wantRemove := resp.StatusCode == 200 && c.want == nil && c.lines != nil
			if got := resp.Header.Get(envoyRemove); got != map[bool]string{true: "cookie"}[wantRemove] {
				t.Errorf("%d: %s %q", resp.StatusCode, envoyRemove, got)
			}
		})
	}
}

// TestSetAuthCookiesAllocations: a line without the gateway's cookies, and
// one with them before or after the others, cost no allocation.
func TestSetAuthCookiesAllocations(t *testing.T) {
	f := newFixture(t)
	for _, line := range []string{"a=1; b=2", "portcullis=x; a=1; b=2", "a=1; portcullis=x; portcullis_1=y"} {
		ex := &exchange{statusWriter: statusWriter{ResponseWriter: &discardWriter{h: http.Header{}}}}
		vals := []string{line}
		if n := testing.AllocsPerRun(100, func() { f.h.setAuthCookies(ex, vals) }); n != 0 {
			t.Errorf("%q: %v allocations, want 0", line, n)
		}
	}
}
