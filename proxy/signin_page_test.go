package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestSignInPageReturnsToTheFormsPage: the 401 page of a form's POST
// without a session links to a sign-in that returns to the page the form
// was on, its Referer, when that page is on the request's own host, the
// host decided: behind a trusted front proxy that is X-Forwarded-Host, not
// the Host the proxy sent the gateway (which compared with the Referer sent
// the sign-in back to the form's action, a URL no GET may open). A Referer
// on another host is never a return URL.
func TestSignInPageReturnsToTheFormsPage(t *testing.T) {
	f := newFixture(t)
	trusted := fromPeer("10.0.0.5:4000")
	cases := []struct {
		name string
		opts []reqOption
		want string
	}{
		{"direct", []reqOption{withHeader("Referer", "http://gw.test/public/form?x=1")},
			`/oauth2/start?rd=/public/form%3Fx%3D1`},
		{"behind a front proxy", []reqOption{trusted, withHeader("X-Forwarded-Host", "app.test"),
			withHeader("Referer", "http://app.test/public/form")},
			`/oauth2/start?rd=http%3A//app.test/public/form`},
		{"the front proxy's Host is no page's", []reqOption{trusted, withHeader("X-Forwarded-Host", "app.test"),
			withHeader("Referer", "http://gw.test/public/form")},
			`/oauth2/start?rd=http%3A//app.test/app/save`},
		{"another host", []reqOption{withHeader("Referer", "http://evil.test/public/form")},
			`/oauth2/start?rd=/app/save`},
	}
	for _, c := range cases {
		resp := f.do(t, "POST", "/app/save", strings.NewReader("note=x"), append(c.opts, browser())...)
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `<a href="`+c.want+`">`) {
			t.Errorf("%s: %d, want a 401 page linking to %s:\n%s", c.name, resp.StatusCode, c.want, body)
		}
	}
}
