package proxy

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The invariants below are written from docs/forward-auth.md and
// docs/endpoints.md, not from the code they check: a parse of the Cookie
// header and the sign-out acceptance rule of their own.

// fuzzCookieList is a Cookie line of the gateway's names, chunks and
// look-alikes among others (fuzzHeaders, bit 30).
const fuzzCookieList = "a=1; portcullis_login_x=s; portcullis_1=c; Portcullis=L; portcullis_01=z; " +
	"portcullis_=y; portcullisx=q; __Host-portcullis=h;portcullis_login=w; b=2 ;; portcullis_12=d"

// gatewayCookieName: the fixture's session cookie "portcullis", its chunks
// portcullis_N (N a decimal without leading zero) and the login-state
// cookies portcullis_login_*.
func gatewayCookieName(name string) bool {
	const base = "portcullis"
	if name == base || strings.HasPrefix(name, base+"_login_") {
		return true
	}
	n, ok := strings.CutPrefix(name, base+"_")
	if !ok || n == "" || n[0] == '0' {
		return false
	}
	return strings.Trim(n, "0123456789") == ""
}

// cookiePairs splits Cookie header lines into their pairs, in order, as
// RFC 6265 §5.4 writes them: "; "-separated, blanks dropped.
func cookiePairs(lines []string) []string {
	var out []string
	for _, l := range lines {
		for _, p := range strings.Split(l, ";") {
			if p = strings.Trim(p, " \t"); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func pairName(p string) string {
	n, _, _ := strings.Cut(p, "=")
	return strings.Trim(n, " \t")
}

// checkAuthCookies: an allowed answer's Cookie holds exactly the request's
// cookies but the gateway's, in order, as one line, and Envoy is told to
// remove the request's Cookie exactly when it had one and none is left; a
// refusal carries neither.
func checkAuthCookies(t *testing.T, r *http.Request, resp *http.Response) {
	t.Helper()
	got := resp.Header.Values("Cookie")
	remove := resp.Header.Values(envoyHeader)
	if resp.StatusCode != http.StatusOK {
		if len(got) > 0 || len(remove) > 0 {
			t.Fatalf("%d answer carries Cookie %q, %s %q", resp.StatusCode, got, envoyHeader, remove)
		}
		return
	}
	var want []string
	for _, p := range cookiePairs(r.Header.Values("Cookie")) {
		if !gatewayCookieName(pairName(p)) {
			want = append(want, p)
		}
	}
	if len(got) > 1 || !slices.Equal(cookiePairs(got), want) {
		t.Fatalf("200 answer's Cookie %q, want the pairs %q of %q", got, want, r.Header.Values("Cookie"))
	}
	for _, p := range cookiePairs(got) {
		if gatewayCookieName(pairName(p)) {
			t.Fatalf("200 answer's Cookie holds the gateway's cookie %q", pairName(p))
		}
	}
	wantRemove := len(r.Header.Values("Cookie")) > 0 && len(want) == 0
	if wantRemove != slices.Equal(remove, []string{"cookie"}) || len(remove) > 1 {
		t.Fatalf("200 answer for Cookie %q (kept %q) has %s %q", r.Header.Values("Cookie"), want, envoyHeader, remove)
	}
}

const envoyHeader = "X-Envoy-Auth-Headers-To-Remove"

// endsSession reports whether an answer expires the session cookie or one
// of its chunks.
func endsSession(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 && gatewayCookieName(c.Name) && !strings.HasPrefix(c.Name, "portcullis_login_") {
			return true
		}
	}
	return false
}

// checkSignOutAllowed: a sign_out or start that ended a session came from
// the gateway's sites (docs/endpoints.md, sign_out): no Sec-Fetch-Site of
// cross-site; an Origin, when sent, is one and public_url's, the
// request's own (ownHost) or an allowed redirect host's; a same-site
// request without Origin has one Referer whose origin is one of those.
func checkSignOutAllowed(t *testing.T, r *http.Request, ownHost string) {
	t.Helper()
	sites := r.Header.Values("Sec-Fetch-Site")
	has := func(v string) bool {
		return slices.ContainsFunc(sites, func(s string) bool { return strings.EqualFold(strings.Trim(s, " \t"), v) })
	}
	origins, refs := r.Header.Values("Origin"), r.Header.Values("Referer")
	switch {
	case has("cross-site"):
		t.Fatalf("%s ended a session with Sec-Fetch-Site %q", r.URL.Path, sites)
	case len(origins) > 0:
		if len(origins) != 1 || !acceptableOrigin(origins[0], ownHost, false) {
			t.Fatalf("%s ended a session with Origin %q (host %q)", r.URL.Path, origins, ownHost)
		}
	case has("same-site"):
		if len(refs) != 1 || !acceptableOrigin(refs[0], ownHost, true) {
			t.Fatalf("%s ended a same-site session without Origin, Referer %q (host %q)", r.URL.Path, refs, ownHost)
		}
	}
}

// acceptableOrigin: o (a Referer's URL when page) names, over http or
// https (public_url is http), public_url's host gw.test, the request's own
// host or an allowed redirect host (app.test, *.example.com), a bare
// host meaning the scheme's default port.
func acceptableOrigin(o, ownHost string, page bool) bool {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Host == "" {
		return false
	}
	if !page && (u.Path != "" || u.RawQuery != "" || u.Fragment != "") {
		return false // an Origin is scheme://host[:port], nothing more
	}
	if u.Scheme == "http" && strings.EqualFold(u.Host, ownHost) {
		return true
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port != "" && port != map[string]string{"http": "80", "https": "443"}[u.Scheme] {
		return false
	}
	if strings.Trim(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != "" {
		return false
	}
	sub, ok := strings.CutSuffix(host, ".example.com")
	return host == "gw.test" || host == "app.test" || (ok && sub != "" && !strings.HasSuffix(sub, "."))
}

// addSignOutSeeds adds sign_out and start requests with a session and
// Origin, Referer and Sec-Fetch-Site from each side of the rule (bits 15,
// 18 and 19 of fuzzHeaders take v; more headers follow a CRLF in v).
func addSignOutSeeds(f *testing.F) {
	const session, site, origin, referer, fwdHost, list = 1 << 9, 1 << 15, 1 << 18, 1 << 19, 1 << 4, 1 << 30
	for _, s := range []struct {
		sel  uint32
		host string
		v    string
	}{
		{session | site, "gw.test", "same-site"},
		{session | site, "gw.test", "cross-site"},
		{session | site, "gw.test", "same-site\r\nReferer: http://evil.example.org/x"},
		{session | site, "gw.test", "same-site\r\nReferer: http://app.test/x"},
		{session | site, "gw.test", "same-site\r\nReferer: http://a.example.com:80/"},
		{session | site, "gw.test", "same-site\r\nReferer: http://example.com/"},
		{session | site, "gw.test", "same-site\r\nReferer: http://gw.test/\r\nReferer: http://evil.test/"},
		{session | site, "gw.test", "same-origin\r\nSec-Fetch-Site: cross-site"},
		{session | site, "gw.test", "Same-Site\r\nOrigin: http://gw.test"},
		{session | origin, "gw.test", "http://evil.test"},
		{session | origin, "gw.test", "http://app.test"},
		{session | origin, "gw.test", "http://app.test/x"},
		{session | origin, "gw.test", "null"},
		{session | origin, "gw.test", "http://gw.test\r\nOrigin: http://evil.test"},
		{session | origin, "a.example.com", "http://a.example.com"},
		{session | referer, "gw.test", "http://evil.test/"},
		{session | origin | referer, "gw.test", "http://app.test"},
		{session | list | site, "gw.test", "same-site\r\nReferer: http://gw.test/"},
		{session | fwdHost | trustedBit, "gw.test", "sib.test\r\nSec-Fetch-Site: same-site\r\nReferer: http://sib.test/"},
		{session | fwdHost, "gw.test", "sib.test\r\nSec-Fetch-Site: same-site\r\nReferer: http://sib.test/"},
	} {
		for _, target := range []string{"/oauth2/sign_out?rd=/x", "/oauth2/start?rd=/x"} {
			f.Add("GET", target, s.host, uint32(s.sel), s.v, []byte(nil))
		}
		f.Add("POST", "/oauth2/sign_out", s.host, uint32(s.sel), s.v, []byte(nil))
	}
}

// addAuthCookieSeeds adds allowed and refused forward-auth requests with
// the gateway's cookies, chunks and look-alikes before, between and after
// others, on one line or several (bits 9, 10, 11 and 30 of fuzzHeaders).
func addAuthCookieSeeds(f *testing.F) {
	const session, own, other, list = 1 << 9, 1 << 10, 1 << 11, 1 << 30
	for _, s := range []struct {
		fu  string
		sel uint32
		v   string
	}{
		{"/app/x", session | list, ""},
		{"/app/x", session, ""},
		{"/app/x", session | own, "x; other=1"},
		{"/app/x", session | other, "1; portcullis_2=a; z=3"},
		{"/app/x", session | other, "1;portcullis_login_q=r;;  z=3 "},
		{"/app/x", session | other, "1\r\nCookie: portcullis_login_a=b; c=d"},
		{"/app/x", session | other, "1\r\nCookie: portcullis_3=b"},
		{"/app/x", session | other, ""},
		{"/public/x", list, ""},
		{"/public/x", own, "x"},
		{"/public/x", own | other, " "},
		{"/public/x", other, "\t\r\nCookie: "},
		{"/public/x", 1 << 17, "x\r\nCookie: "}, // one blank Cookie line (Accept: x)
		{"/admin/", session | list, ""},
	} {
		f.Add("GET", "GET", s.fu, "gw.test", s.sel|trustedBit, s.v)
		f.Add("GET", "GET", s.fu, "gw.test", s.sel, s.v)
	}
}
