package proxy

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/policy"
)

// maxRedirectLen bounds the return URLs the gateway keeps.
const maxRedirectLen = 4096

// redirectPolicy decides which post-login and post-logout targets are
// acceptable (docs/configuration.md allowed_redirect_hosts, docs/endpoints.md start): a
// relative path, or an absolute http(s) URL on public_url's origin or an
// allowed host, over https when public_url is (see allowedHost).
// Everything else falls back to "/", which closes open redirects (RFC 9700
// §4.11).
type redirectPolicy struct {
	publicScheme string
	publicHost   string // public_url's Host.Name (policy.ParseHost)
	publicPort   string // explicit or the scheme's default
	hosts        []hostRule
}

// hostRule is one allowed_redirect_hosts entry.
type hostRule struct {
	host string // policy.HostKey: "a.example.com", or ".example.com" for "*.example.com"
	port string // "" = the scheme's default port
}

func newRedirectPolicy(public *url.URL, allowed []string) (*redirectPolicy, error) {
	p := &redirectPolicy{publicScheme: public.Scheme}
	if h, err := policy.ParseHost(public.Host); err == nil {
		p.publicHost = h.Name
	}
	p.publicPort = effectivePort(public.Scheme, public.Port())
	for _, a := range allowed {
		rule, err := parseHostRule(a)
		if err != nil {
			return nil, err
		}
		p.hosts = append(p.hosts, rule)
	}
	return p, nil
}

// CheckRedirectHost reports whether a is an allowed_redirect_hosts entry
// the redirect policy can use ("host", "host:port", "*.domain"): the
// configuration check calls it, so that check and serve agree.
func CheckRedirectHost(a string) error {
	_, err := parseHostRule(a)
	return err
}

func parseHostRule(a string) (hostRule, error) {
	bad := fmt.Errorf("proxy: allowed redirect host %q: want \"host\", \"host:port\" or \"*.domain\"", a)
	host, port := a, ""
	if h, p, err := net.SplitHostPort(a); err == nil {
		// A port in plain decimal, as a URL writes it: "0443" would never
		// equal a return URL's "443".
		if !plainPort(p) {
			return hostRule{}, bad
		}
		host, port = h, p
	}
	// A route's host rule: no IPv6 literal, no name a request's Host could
	// never be (policy.ParseHost), so that what a return URL may name and
	// what routes, and forward-auth's subrequest check, call that host agree.
	key, err := policy.HostKey(host)
	if err != nil || key == "" {
		return hostRule{}, bad
	}
	return hostRule{host: key, port: port}, nil
}

// validate returns raw when it is an acceptable return URL and "/" otherwise.
func (p *redirectPolicy) validate(raw string) string {
	if raw == "" || len(raw) > maxRedirectLen || !cleanRedirectChars(raw) {
		return "/"
	}
	if raw[0] == '/' {
		if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
			return "/"
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			return "/"
		}
		// The path rules hold for the Location the browser receives too:
		// http.Redirect cleans a fragment's dot-segments as the path's, so
		// "/#/../%2F%2Fevil.com" would go out as "/%2F%2Fevil.com".
		if !cleanRedirectChars(asRedirected(raw)) {
			return "/"
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "/"
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "/"
	}
	// The authority must follow "scheme://" literally: url.Parse is more
	// lenient than some browsers about what precedes it.
	if !strings.HasPrefix(strings.ToLower(raw), scheme+"://") {
		return "/"
	}
	// The host by the Host rule, as a request that followed the URL is
	// read: a host that rule refuses ("a..example.com", "0x7f.1", "a:",
	// Unicode, which IDNA mapping in the browser can turn into another host
	// or split, U+2100 "℀" into "a/c") is no return host, whatever entry it
	// seems to fall under. International names are listed in their xn-- form.
	h, err := policy.ParseHost(u.Host)
	if err != nil || !p.allowedHost(scheme, h.Name, effectivePort(scheme, h.Port)) {
		return "/"
	}
	return raw
}

// returnTo is start's or sign-out's return URL: the rd a client sent, as
// the redirect policy accepts it, else "/". A refused rd is named on the
// request's line by the host it gave ("-" for none): a sign-in started on a
// host neither public_url's nor in allowed_redirect_hosts (a route without
// a host reached under another name) came back to "/" without a line
// saying why, and the operator could not tell which host to list.
func (h *Handler) returnTo(ex *exchange, raw string) string {
	rd := h.redirects.validate(raw)
	if raw != "" && rd != raw {
		ex.refusedReturn = "-"
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			ex.refusedReturn = strings.ToLower(u.Host)
		}
	}
	return rd
}

// allowedHost reports whether host:port (port already defaulted) is
// public_url's origin or matches an allowed_redirect_hosts entry. Behind an
// https public_url, plain http is refused except on loopback: one plain
// link that a network attacker rewrote would otherwise send the signed-in
// user, by the gateway's own redirect, where the application's cookies and
// pages are his to read or change.
func (p *redirectPolicy) allowedHost(scheme, host, port string) bool {
	if host == "" || scheme == "http" && p.publicScheme == "https" && !loopbackHost(host) {
		return false
	}
	if scheme == p.publicScheme && host == p.publicHost && port == p.publicPort {
		return true
	}
	return p.listed(scheme, host, port)
}

// listed reports whether an allowed_redirect_hosts entry names host at
// port for a URL of scheme (an entry without a port: the scheme's default).
func (p *redirectPolicy) listed(scheme, host, port string) bool {
	return p.listedBy(scheme, host, port, true)
}

// listedBy is listed, counting wildcard entries ("*.example.com") only
// when wildcards is set.
func (p *redirectPolicy) listedBy(scheme, host, port string, wildcards bool) bool {
	for _, r := range p.hosts {
		want := r.port
		if want == "" {
			want = effectivePort(scheme, "")
		}
		if port == want && (r.host == host || wildcards && policy.Covers(r.host, host)) {
			return true
		}
	}
	return false
}

// namesOrigin reports whether the origin o (scheme://host[:port], as
// bareOrigin accepts it) is public_url's or one that an
// allowed_redirect_hosts entry names by its host, under the rules of a
// return URL (validate: plain http behind an https public_url is refused).
// A wildcard entry does not count: it says where a sign-in may return, not
// that every host under it (a blog, a user-content host) serves pages of
// the gateway's, and a WebSocket those pages open reads and writes the
// user's connection (crossOriginWebSocket).
func (p *redirectPolicy) namesOrigin(o string) bool {
	if p.validate(o+"/") == "/" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	h, err := policy.ParseHost(u.Host)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	port := effectivePort(scheme, h.Port)
	if scheme == p.publicScheme && h.Name == p.publicHost && port == p.publicPort {
		return true
	}
	return p.listedBy(scheme, h.Name, port, false)
}

// namesHost reports whether a request's Host, parsed, names a host an
// allowed_redirect_hosts entry lists: a host users are sent back to, so an
// application's (forward-auth's subrequest Host check). A Host without a
// port names it at any port; one with a port where an entry's return URLs
// can go, over either scheme (an entry without a port: 80 and 443), so
// that an app listed at localhost:3000 does not make a gateway reached at
// localhost:4180 an application host. It does not allocate.
func (p *redirectPolicy) namesHost(name, port string) bool {
	if port == "" {
		for _, r := range p.hosts {
			if policy.Covers(r.host, name) {
				return true
			}
		}
		return false
	}
	return p.listed("https", name, port) || p.listed("http", name, port)
}

// loopbackHost reports whether host (lower-cased, no trailing dot) names
// this machine: "localhost", a name under ".localhost" (RFC 6761 §6.3;
// browsers resolve them to loopback themselves) or a loopback IP address.
// Browsers count these as secure contexts over http too: no network lies
// between them and the browser.
func loopbackHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host) // u.Hostname(): an IPv6 literal without its brackets
	return ip != nil && ip.IsLoopback()
}

// cleanRedirectChars refuses control characters, whitespace and
// backslashes, raw anywhere and percent-encoded in the path, encoded
// slashes in the path (browsers and servers disagree about all of these
// there), and malformed escapes outside the query. In the query and the
// fragment an escape stays text that neither the browser nor the Location
// header decodes, so a return URL like "/app?next=%2Fhome&q=a%20b" is kept
// as it is; so is a '%' that starts no escape in the query ("?off=100%",
// which browsers send as typed and the gateway forwards): the page that
// started a sign-in is returned to, not "/".
func cleanRedirectChars(s string) bool {
	inPath, inQuery := true, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
		switch {
		case c == '?' && inPath:
			inPath, inQuery = false, true
		case c == '#':
			inPath, inQuery = false, false
		case c == '%':
			var v byte
			ok := i+2 < len(s)
			if ok {
				v, ok = unhexPair(s[i+1], s[i+2])
			}
			if !ok && !inQuery || inPath && (v <= ' ' || v == 0x7f || v == '\\' || v == '/') {
				return false
			}
		}
	}
	return true
}

// asRedirected is the relative URL s as http.Redirect writes it into
// Location: what precedes the first "?", a fragment included, goes through
// path.Clean with its trailing slash kept.
func asRedirected(s string) string {
	q := ""
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, q = s[:i], s[i:]
	}
	trailing := strings.HasSuffix(s, "/")
	s = path.Clean(s)
	if trailing && !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s + q
}

func unhexPair(a, b byte) (byte, bool) {
	x, ok1 := unhexDigit(a)
	y, ok2 := unhexDigit(b)
	return x<<4 | y, ok1 && ok2
}

func unhexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// effectivePort returns port, or the scheme's default port when it is empty.
func effectivePort(scheme, port string) string {
	if port != "" {
		return port
	}
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80"
}

// plainPort reports whether port is 1-65535 in plain decimal: digits only,
// no sign, no leading zero.
func plainPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == port
}
