package proxy

import (
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// hostileHosts are hosts written the ways one parser may read and another
// not: case, trailing dots, ports (default, explicit, empty), IPv6 with
// and without brackets and zones, escapes, userinfo, Unicode and punycode,
// whitespace, empty labels, numbers that are not IPv4 addresses.
var hostileHosts = []string{
	"a.example.com", "A.Example.COM", "a.example.com.", "a.example.com..", ".a.example.com",
	"a..example.com", "..example.com", "example.com", "example.com.", "evil-example.com",
	"a.example.com:443", "a.example.com:80", "a.example.com:8443", "a.example.com:", "a.example.com:0443",
	"a.example.com::", "a.example.com:80:1", "[::1]", "[::1]:443", "::1", "[0:0::1]", "[fe80::1%25eth0]",
	"[::ffff:127.0.0.1]", "a.ex%61mple.com", "a.example.com%2F", "user@a.example.com", "a.example.com@evil.test",
	"bücher.example.com", "xn--bcher-kva.example.com", "a.example.com ", " a.example.com", "a.exa mple.com",
	"", ".", "*.example.com", "*", "0x7f.example.com", "1.example.com", "example.1", "a.example.0x1",
	"127.1", "127.0.0.1", "0177.0.0.1", strings.Repeat("a", 64) + ".example.com", "a\texample.com",
	"a.example.com\\", "a.example.com/x", "a.example.com?", "a.example.com#", "_a.example.com", "-a.example.com",
}

// hostPatterns are route hosts and allowed_redirect_hosts entries.
var hostPatterns = []string{"*.example.com", "a.example.com", "A.example.com.", "example.com", "*.com", "127.0.0.1"}

// hostVerdict is what each of the gateway's host readers makes of one host.
type hostVerdict struct {
	parsed   bool   // ParseHost accepts it
	name     string // ParseHost's name
	route    bool   // a route with the pattern as its host names it (Table.NamesHost)
	match    bool   // Table.Match routes a request for it
	redirect bool   // a return URL https://<host>/ is kept (redirectPolicy.validate)
	appHost  bool   // the subrequest check counts it an application host (namesHost)
}

// judgeHost asks every reader about host under one pattern, written both
// as a route's host and as an allowed_redirect_hosts entry.
func judgeHost(t testing.TB, pattern, host string) (v hostVerdict, ok bool) {
	tbl, err := policy.Compile([]policy.RouteConfig{{Host: pattern, Path: "/**"}})
	if err != nil || pattern == "" { // "": any host, no entry allowed_redirect_hosts can hold
		return v, false
	}
	pub, _ := url.Parse("https://gw.other.test")
	rp, err := newRedirectPolicy(pub, []string{pattern})
	if err != nil {
		t.Fatalf("route host %q compiles but as an allowed redirect host it is refused: %v", pattern, err)
	}
	h, err := policy.ParseHost(host)
	v.parsed, v.name = err == nil, h.Name
	if v.parsed {
		v.route = tbl.NamesHost(h.Name)
		v.match = tbl.Match("GET", h.Name, "/x") != nil
		v.appHost = rp.namesHost(h.Name, h.Port)
	}
	// Past a '/', '?', '#' or '\\' a URL's authority has ended: the host
	// is what precedes it, judged as its own case.
	if !strings.ContainsAny(host, "/?#\\") {
		v.redirect = rp.validate("https://"+host+"/") != "/"
	}
	return v, true
}

// checkHostAgreement asserts that the readers agree: a host the Host rule
// refuses is nobody's, and one it accepts is a route's exactly when it is a
// return host (at https's default port: the entry has none) and an
// application host (without a port, or at a default port).
func checkHostAgreement(t testing.TB, pattern, host string) {
	v, ok := judgeHost(t, pattern, host)
	if !ok {
		return
	}
	h, _ := policy.ParseHost(host)
	https := h.Port == "" || h.Port == "443"
	switch {
	case !v.parsed && (v.redirect || v.route || v.match || v.appHost):
		t.Errorf("pattern %q, host %q: the Host rule refuses it, yet %+v", pattern, host, v)
	case v.parsed && v.route != v.match:
		t.Errorf("pattern %q, host %q: NamesHost and Match disagree: %+v", pattern, host, v)
	case v.parsed && !strings.ContainsAny(host, "/?#\\") && v.redirect != (v.route && https):
		t.Errorf("pattern %q, host %q: a route names it %v, a return URL there is kept %v", pattern, host, v.route, v.redirect)
	case v.parsed && v.appHost != (v.route && (https || h.Port == "80")):
		t.Errorf("pattern %q, host %q: a route names it %v, the subrequest check calls it an application host %v", pattern, host, v.route, v.appHost)
	}
}

func TestHostReadersAgree(t *testing.T) {
	for _, p := range hostPatterns {
		for _, h := range hostileHosts {
			checkHostAgreement(t, p, h)
		}
	}
}

func FuzzHostReadersAgree(f *testing.F) {
	for _, p := range hostPatterns {
		for _, h := range hostileHosts {
			f.Add(p, h)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, host string) {
		checkHostAgreement(t, pattern, host)
	})
}
