package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestLongTargetMakesNoLongAnswer: an answer that carries the request's
// return URL (a sign-in link on a 401 page, forward-auth's page, a
// Location to public_url's start, a 403 page's "switch account" link,
// the 401 page's link back to the Referer's page) carries "/" when that
// URL is longer than a return URL may be (start
// would make it "/"). Escaped there once or twice, a 48 KB request
// target drew a 157 KB 401 page, a 219 KB 403 page and a 312 KB Location
// header (past every front proxy's limit), a 28 KB X-Forwarded-Uri a
// 196 KB page: up to seven times what the client sent, each held whole in
// memory until written.
func TestLongTargetMakesNoLongAnswer(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	long := strings.Repeat("é", 12_000) + "?" + strings.Repeat("%22", 8_000) // 48 KB
	// A forwarded header is bounded at 32 KiB with the others.
	forwarded := strings.Repeat("é", 8_000) + "?" + strings.Repeat("%22", 4_000) // 28 KB
	for _, c := range []struct {
		name, method, target string
		opts                 []reqOption
		want                 int
	}{
		{"a form's POST: the 401 page's sign-in link", "POST", "/app/" + long, []reqOption{browser()}, http.StatusUnauthorized},
		{"a form's POST from a page with a long Referer: the 401 page's sign-in link", "POST", "/app/x",
			[]reqOption{browser(), withHeader("Referer", "http://gw.test/app/"+forwarded)}, http.StatusUnauthorized},
		{"another host's navigation: Location to public_url's start", "GET", "/app/" + long,
			[]reqOption{browser(), func(r *http.Request) { r.Host = "app.test" }}, http.StatusFound},
		{"forward-auth's navigation page", "GET", "/oauth2/auth", []reqOption{fromPeer("10.0.0.5:4000"), browser(),
			withHeader("X-Forwarded-Host", "app.test"), withHeader("X-Forwarded-Uri", "/app/"+forwarded)}, http.StatusUnauthorized},
		{"a 403 page's switch link", "GET", "/denied/" + long, []reqOption{browser(), withCookies(cookies)}, http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := f.do(t, c.method, c.target, nil, c.opts...)
			size := len(readBody(t, resp))
			for k, vs := range resp.Header {
				for _, v := range vs {
					size += len(k) + len(v)
				}
			}
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.want)
			}
			if size > 16<<10 {
				t.Errorf("an answer of %d KB, want at most 16 KiB", size>>10)
			}
		})
	}
}
