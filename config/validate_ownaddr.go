package config

import (
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis/internal/ascii"
)

// checkOwnUpstreams refuses an upstream that is the gateway itself. At the
// ops listener, the gateway would put /metrics, /readyz's reasons and the
// profiler (the command line, stacks, CPU profiles and traces that cost
// the process its CPU) behind a route: they answer without authentication
// and must stay off every network clients reach. At the gateway's own
// listener, or public_url's origin (the front that sends it back), every
// request it forwards returns to be decided again, each pass holding a
// connection until max_connections is spent.
func (d *decoder) checkOwnUpstreams(s *serverSection, pub *url.URL, us []upstreamSection) {
	for _, u := range us {
		parsed, err := url.Parse(u.URL)
		if u.URL == "" || err != nil || parsed.Host == "" {
			continue // its own problem is reported
		}
		if why := OwnAddress(parsed, pub, s.Listen, s.OpsListen); why != "" {
			d.problem(u.path+".url", "%q %s; point the upstream at the application", withoutUserinfo(u.URL), why)
		}
	}
}

// OwnAddress says how an upstream URL reaches the gateway itself (its ops
// listener, its listener, public_url's origin), or "". reload asks it of
// the listeners still bound, which a reload does not move. Only what the
// file says is compared: a name that resolves to this host is not looked
// up, as check dials nothing.
func OwnAddress(u, pub *url.URL, listen, opsListen string) string {
	port := u.Port()
	if port == "" {
		port = defaultPort(u.Scheme)
	}
	host := trimDot(u.Hostname())
	switch {
	case opsListen != "" && reachesListener(host, port, opsListen):
		return "reaches the gateway's ops listener (server.ops_listen " + quote(opsListen) + "): /metrics, /readyz and the profiler answer there without authentication and must not be served through a route"
	case reachesListener(host, port, listen):
		return "reaches the gateway's own listener (server.listen " + quote(listen) + "): every request forwarded there comes back to be decided again, a loop that holds a connection on each pass"
	case pub != nil && sameOrigin(u, pub):
		return "is public_url's origin, the gateway itself: every request forwarded there comes back to be decided again, a loop that holds a connection on each pass"
	}
	return ""
}

func quote(s string) string { return `"` + s + `"` }

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "https") {
		return "443"
	}
	return "80" // http and h2c
}

func trimDot(h string) string { return strings.TrimSuffix(h, ".") }

// reachesListener reports whether a connection to host:port reaches a
// listener bound to addr: the same port, and the same host, or a loopback
// or unspecified address (which reaches this host) where the listener is
// on every address or on loopback. Ports and addresses are compared as the
// dialler reads them: "09180" is port 9180, and 127.1 is 127.0.0.1 to the
// cgo resolver.
func reachesListener(host, port, addr string) bool {
	lh, lp, err := net.SplitHostPort(addr)
	if err != nil || !samePort(lp, port) {
		return false
	}
	lh = trimDot(lh)
	if ascii.EqualFold(host, lh) {
		return true
	}
	if !localHost(host) {
		return false
	}
	switch {
	case lh == "" || isUnspecified(lh):
		return true // a wildcard listener answers on loopback too
	case ascii.EqualFold(lh, "localhost") || isUnspecified(host):
		return localHost(lh)
	}
	a, okA := hostAddr(host)
	b, okB := hostAddr(lh)
	return okA && okB && a == b
}

// samePort compares two ports by number; port 0 (any free one) is none.
func samePort(a, b string) bool {
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	return errA == nil && errB == nil && x == y && x != 0
}

// localHost: a connection to it stays on this machine (loopback, or the
// unspecified address, which Linux and macOS dial as loopback).
func localHost(h string) bool {
	if ip, ok := hostAddr(h); ok {
		return ip.IsLoopback() || ip.IsUnspecified()
	}
	return ascii.EqualFold(h, "localhost")
}

func isUnspecified(h string) bool {
	ip, ok := hostAddr(h)
	return ok && ip.IsUnspecified()
}

// hostAddr is the address a host names, unmapped: an IP literal, or one of
// inet_aton's IPv4 forms (127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1),
// which getaddrinfo, and so Go's cgo resolver, dials as that address.
func hostAddr(h string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.Unmap(), true
	}
	parts := strings.Split(h, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, err := aton(p)
		last := i == len(parts)-1
		if err != nil || !last && n > 0xff || last && n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		if last {
			v = v<<(8*(4-i)) | n
		} else {
			v = v<<8 | n
		}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// sameOrigin compares an upstream with public_url: scheme (h2c is http),
// host without case or a final dot, and port with the scheme's default.
func sameOrigin(u, pub *url.URL) bool {
	scheme := strings.ToLower(u.Scheme)
	if scheme == "h2c" {
		scheme = "http"
	}
	pp := pub.Port()
	if pp == "" {
		pp = defaultPort(pub.Scheme)
	}
	up := u.Port()
	if up == "" {
		up = defaultPort(u.Scheme)
	}
	return scheme == strings.ToLower(pub.Scheme) && samePort(up, pp) &&
		ascii.EqualFold(trimDot(u.Hostname()), trimDot(pub.Hostname()))
}

// UpstreamsReaching lists, at their url lines, the upstreams of c that
// reach the listeners bound at listen and opsListen. A reload cannot move
// a listener, so it asks this of the ones still running: a file that moves
// ops_listen (not applied) and points an upstream at the old port would
// otherwise pass its own check and serve the ops listener through a route.
func (c *Config) UpstreamsReaching(listen, opsListen string) Problems {
	var ps Problems
	for i, u := range c.Proxy.Upstreams {
		if i >= len(c.upstreamAt) || u.URL == nil {
			continue
		}
		if why := OwnAddress(u.URL, nil, listen, opsListen); why != "" {
			p := c.upstreamAt[i]
			p.Msg = quote(withoutUserinfo(u.URL.String())) + " " + why + " (still running: a change of its address needs a restart); point the upstream at the application"
			ps = append(ps, p)
		}
	}
	return ps
}

// aton reads one part of an inet_aton address: 0x hex, 0 octal, else
// decimal. An explicit base, as strconv's base 0 would also take 0b, 0o
// and underscores, which inet_aton does not.
func aton(p string) (uint64, error) {
	base := 10
	switch {
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		p, base = p[2:], 16
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	return strconv.ParseUint(p, base, 32)
}
