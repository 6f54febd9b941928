package proxy

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// maxHostBytes bounds a Host value (docs/requests.md, Host rule).
const maxHostBytes = 255

// Host is a request's Host (or HTTP/2 :authority, which net/http puts in
// Request.Host) parsed once, strictly: the one form that serves route
// matching, the upstream's Host with preserve_host, the assertion audience
// and every cache key. Its zero value is "no host".
type Host struct {
	// Name is a DNS name or an IPv4 address, lower-cased and without a
	// trailing dot, or an IPv6 address without brackets.
	Name string
	// Port is the decimal port (1-65535) the client named, or "".
	Port  string
	ipv6  bool
	canon string // String's value, the input itself when that was canonical
}

// String is the canonical Host value: the name (IPv6 in brackets) and the
// port when one was named.
func (h Host) String() string { return h.canon }

// withCanon sets h.canon: in, when that is already the canonical form (no
// allocation), else the form built from h's parts.
func (h Host) withCanon(in string) Host {
	name := h.Name
	if h.ipv6 {
		name = "[" + name + "]"
	}
	n := len(name)
	if h.Port != "" {
		n += 1 + len(h.Port)
	}
	if len(in) == n && in[:len(name)] == name {
		h.canon = in
		return h
	}
	if h.Port == "" {
		h.canon = name
	} else {
		h.canon = name + ":" + h.Port
	}
	return h
}

// ParseHost parses a Host header value, an HTTP/2 :authority or a forwarded
// host. It accepts a DNS name (labels of letters, digits, '-' and '_',
// each 1-63 bytes, one optional trailing dot), an IPv4 address in dotted
// decimal or a bracketed IPv6 address without zone, each optionally
// followed by one ':' and a port 1-65535 without leading zeros, 255 bytes
// at most. Everything else is refused: more than one ':' outside brackets
// ("a.example.com:80:1", "a.example.com::", which some servers read as
// "a.example.com"), userinfo, spaces, empty labels, a name whose last
// label is numeric but that is no IPv4 address ("1.2.3", "0x7f.1"), an
// empty port. It allocates only when the input is not already canonical.
func ParseHost(s string) (Host, error) {
	switch {
	case s == "":
		return Host{}, errors.New("proxy: empty host")
	case len(s) > maxHostBytes:
		return Host{}, errors.New("proxy: host longer than 255 bytes")
	}
	if s[0] == '[' {
		return parseIPv6Host(s)
	}
	name, port := s, ""
	if i := strings.IndexByte(s, ':'); i >= 0 {
		name, port = s[:i], s[i+1:]
		if err := checkPort(port); err != nil {
			return Host{}, err
		}
	}
	if n := len(name); n > 1 && name[n-1] == '.' {
		name = name[:n-1]
	}
	lower, err := checkHostName(name)
	if err != nil {
		return Host{}, err
	}
	if lower {
		name = strings.ToLower(name)
	}
	return Host{Name: name, Port: port}.withCanon(s), nil
}

func parseIPv6Host(s string) (Host, error) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return Host{}, errors.New("proxy: host has an unclosed '['")
	}
	addr, err := netip.ParseAddr(s[1:end])
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return Host{}, errors.New("proxy: host in brackets is not an IPv6 address")
	}
	h := Host{Name: addr.String(), ipv6: true}
	if rest := s[end+1:]; rest != "" {
		if rest[0] != ':' {
			return Host{}, errors.New("proxy: host has text after ']'")
		}
		if err := checkPort(rest[1:]); err != nil {
			return Host{}, err
		}
		h.Port = rest[1:]
	}
	return h.withCanon(s), nil
}

// checkPort accepts 1-65535 written without sign or leading zeros.
func checkPort(p string) error {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return errors.New("proxy: host port is not a number from 1 to 65535")
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return errors.New("proxy: host port is not a number from 1 to 65535")
		}
		n = n*10 + int(p[i]-'0')
	}
	if n > 65535 {
		return errors.New("proxy: host port is not a number from 1 to 65535")
	}
	return nil
}

// checkHostName checks a DNS name or IPv4 address (without port or
// trailing dot) and reports whether it has upper-case letters.
func checkHostName(name string) (upper bool, err error) {
	if name == "" || len(name) > 253 {
		return false, errors.New("proxy: host name is empty or longer than 253 bytes")
	}
	labelStart, lastNumeric := 0, true
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - labelStart; n == 0 || n > 63 {
				return false, errors.New("proxy: host has an empty or overlong label")
			}
			if i < len(name) {
				labelStart, lastNumeric = i+1, true
			}
			continue
		}
		c := name[i]
		switch {
		case '0' <= c && c <= '9':
		case 'a' <= c && c <= 'z', c == '-', c == '_':
			lastNumeric = false
		case 'A' <= c && c <= 'Z':
			lastNumeric, upper = false, true
		default:
			return false, errors.New("proxy: host has a character not allowed in a host name")
		}
	}
	// A name ending in a numeric label is an IPv4 address or nothing:
	// "1.2.3", "127.1" or "0177.0.0.1" mean other addresses to inet_aton.
	if lastNumeric {
		if a, perr := netip.ParseAddr(name); perr != nil || !a.Is4() {
			return false, errors.New("proxy: host is numeric but not a dotted-decimal IPv4 address")
		}
	}
	return upper, nil
}

// requestHost is the one host a request is decided, forwarded and logged
// under (docs/requests.md, Host): the Host header (HTTP/2's :authority) or,
// from a trusted proxy that sends one, its X-Forwarded-Host, the host the
// client asked that proxy for. The upstream receives this host as its
// X-Forwarded-Host (setForwardedHost), so an application that believes the
// header acts on the host the routes decided, never on another. Both follow
// the Host rule; an X-Forwarded-Host given twice is refused.
func requestHost(r *http.Request, trusted bool) (Host, error) {
	host, err := ParseHost(r.Host)
	if err != nil {
		return Host{}, badRequest("the request's Host is not acceptable", err)
	}
	if err := oneHost(r, host); err != nil {
		return Host{}, err
	}
	if !trusted {
		return host, nil
	}
	v, err := singleHeader(r, "X-Forwarded-Host")
	if err != nil || v == "" {
		return host, err
	}
	if host, err = ParseHost(v); err != nil {
		return Host{}, badRequest("the forwarded host is not acceptable", err)
	}
	return host, nil
}

// oneHost refuses an HTTP/2 request that names another host than its
// :authority (RFC 9113 §8.3.1 calls it malformed): in a Host field, which
// Go's server leaves in the header beside :authority, or in an
// absolute-form :path, which it parses into r.URL. The gateway decides and
// forwards :authority's host alone, but a component in front of it that
// read the other host would have decided another request. Over HTTP/1.x a
// request has one host: Go's server takes an absolute-form target's host
// and drops the Host field.
func oneHost(r *http.Request, host Host) error {
	if r.ProtoMajor < 2 {
		return nil
	}
	for _, v := range r.Header["Host"] {
		if err := sameHost(v, host); err != nil {
			return err
		}
	}
	if r.URL.Host != "" {
		return sameHost(r.URL.Host, host)
	}
	return nil
}

// sameHost refuses v unless it parses to host (canonical forms compared).
func sameHost(v string, host Host) error {
	h, err := ParseHost(v)
	if err != nil || h.String() != host.String() {
		return badRequest("the request names two different hosts", err)
	}
	return nil
}
