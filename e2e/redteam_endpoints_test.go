package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// Markers a hostile client sends; a refusal must never carry them back raw.
const (
	xssMark   = `<zz onmouseover="alert(1)">`
	tokenMark = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZWR0ZWFtIn0.c2VjcmV0LXNpZ25hdHVyZQ"
	cookieVal = "redteam-cookie-value-0123456789"
)

// probe is one request and what came back.
type probe struct {
	method, target string
	hdr            map[string]string
	status         int
	header         http.Header
	body           string
}

func (p *probe) do(t *testing.T, c *http.Client) {
	t.Helper()
	req, err := http.NewRequest(p.method, p.target, strings.NewReader("a="+url.QueryEscape(xssMark)))
	if err != nil {
		t.Fatalf("%s %q: %v", p.method, p.target, err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+tokenMark)
	req.Header.Set("Cookie", "portcullis="+cookieVal+"; _portcullis_login="+cookieVal)
	req.Header.Set("X-Redteam", xssMark)
	for k, v := range p.hdr {
		req.Header[k] = []string{v}
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cc.Do(req)
	if err != nil {
		t.Fatalf("%s %q: %v", p.method, p.target, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p.status, p.header, p.body = resp.StatusCode, resp.Header, string(b)
}

// leaks is what a refused answer must not carry: a raw marker, the token or
// the cookie the client sent (in the body or any header).
func (p *probe) leaks() string {
	all := p.body
	for k, vs := range p.header {
		all += "\n" + k + ": " + strings.Join(vs, ", ")
	}
	for _, m := range []string{"<zz", tokenMark, "c2VjcmV0LXNpZ25hdHVyZQ", cookieVal} {
		if strings.Contains(all, m) {
			return m
		}
	}
	return ""
}

// TestRedTeamEndpoints: every gateway and ops endpoint with every method,
// and with duplicated, oversized and hostile parameters: no 5xx but the
// documented ones, no 2xx to a method the docs do not list, no marker, token
// or cookie echoed, and the gateway still answers afterwards.
func TestRedTeamEndpoints(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", demoRoutes+"\n[[routes]]\npath = \"/**\"\n"))
	allowed := map[string]string{ // path -> methods that may succeed
		"/oauth2/start": "GET HEAD", "/oauth2/callback": "GET", "/oauth2/sign_out": "GET POST",
		"/oauth2/signed_out": "GET", "/oauth2/backchannel_logout": "POST", "/oauth2/userinfo": "GET HEAD",
		"/oauth2/auth": "", "/oauth2/jwks.json": "GET HEAD", "/oauth2/healthz": "GET HEAD",
	}
	ops := map[string]string{"/healthz": "GET HEAD", "/readyz": "GET HEAD", "/metrics": "GET HEAD"}
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND", "FOO"}
	n := 0
	check := func(pr *probe, okMethods string) {
		n++
		if pr.status >= 500 && pr.status != 501 && pr.status != 503 {
			t.Errorf("%s %s: %d\n%.300s", pr.method, pr.target, pr.status, pr.body)
		}
		if pr.status < 300 && !strings.Contains(" "+okMethods+" ", " "+pr.method+" ") {
			t.Errorf("%s %s: %d for a method it does not take", pr.method, pr.target, pr.status)
		}
		if pr.status == 405 && pr.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", pr.method, pr.target)
		}
		if m := pr.leaks(); m != "" {
			t.Errorf("%s %s: %d echoes %q\n%v\n%.500s", pr.method, pr.target, pr.status, m, pr.header, pr.body)
		}
	}
	hostile := url.Values{"rd": {"/" + xssMark}, "state": {xssMark}, "code": {xssMark},
		"error": {xssMark}, "error_description": {xssMark}, "iss": {xssMark}}.Encode()
	big := strings.Repeat("A", 6000)
	queries := []string{"", "?" + hostile, "?" + hostile + "&" + hostile, "?state=" + big + "&code=" + big,
		"?rd=" + big, "?%zz=%zz", "?state", "?error=x&error=y&code=z"}
	for base, set := range map[string]map[string]string{gw.URL: allowed, gw.OpsURL: ops} {
		for path, ok := range set {
			for _, m := range methods {
				for _, q := range queries {
					pr := &probe{method: m, target: base + path + q}
					pr.do(t, browser(t))
					check(pr, ok)
				}
			}
		}
	}
	// Paths under the prefix that are none of the endpoints, and hostile
	// paths elsewhere, with JSON and HTML clients.
	for _, path := range []string{"/oauth2/" + url.PathEscape(xssMark), "/oauth2//auth", "/oauth2/auth/", "/oauth2/AUTH",
		"/oauth2/start%00", "/oauth2/%2e%2e/admin/x", "/admin/" + url.PathEscape(xssMark), "/x?" + url.QueryEscape(xssMark)} {
		for _, accept := range []string{"text/html", "application/json", "*/*"} {
			pr := &probe{method: "GET", target: gw.URL + path, hdr: map[string]string{"Accept": accept}}
			pr.do(t, browser(t))
			check(pr, "GET")
		}
	}
	// The ops listener serves no profiler and no expvar.
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/vars", "/metrics/", "/healthz/../metrics",
		"/%6detrics", "/config", "/.env", "/", "/readyz?verbose=1"} {
		pr := &probe{method: "GET", target: gw.OpsURL + path}
		pr.do(t, browser(t))
		n++
		// "/%6detrics" and "/healthz/../metrics" are /metrics to Go's
		// ServeMux (the one a 200, the other a 307 to it): the same page.
		if strings.HasPrefix(path, "/debug/") && pr.status != 404 || pr.status >= 500 ||
			strings.Contains(pr.body, "goroutine ") || strings.Contains(pr.body, `"memstats":`) {
			t.Errorf("ops GET %s: %d %.200s", path, pr.status, pr.body)
		}
	}
	t.Logf("%d endpoint probes", n)
	if resp, err := plainClient.Get(gw.URL + "/oauth2/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("gateway down after the probes: %v\n%s", err, gw.Proc.Output())
	}
}
