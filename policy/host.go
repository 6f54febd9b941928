package policy

import (
	"errors"
	"net/netip"
	"strings"
)

// lowerASCII writes h with ASCII letters lower-cased into buf and returns
// it; ok is false when h does not fit (longer than any DNS name, RFC 1035
// §2.3.4, or email address, RFC 5321 §4.5.3.1).
func lowerASCII(buf *[256]byte, h string) (b []byte, ok bool) {
	if len(h) > len(buf) {
		return nil, false
	}
	b = buf[:len(h)]
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b, true
}

// compileHost checks a route's host (or an allowed_redirect_hosts entry's)
// and returns its key: "" for any host, the name as ParseHost makes it
// (lower-cased, without a trailing dot) for an exact host, ".example.com"
// for "*.example.com". A name ParseHost refuses ("1.2.3", a label over 63
// bytes, a name that is not ASCII) is refused here too, and so is a
// wildcard over an IPv4 address ("*.1.2.3.4"): no request could ever be
// matched to it. Covers is the one rule for what a key matches.
func compileHost(host string) (string, error) {
	if host == "" {
		return "", nil
	}
	// Refused before lower-casing: Unicode case mapping turns the Kelvin
	// sign (U+212A) into "k" and U+0130 into "i", so "\u212a.example.com"
	// would be a route for "k.example.com", another host than the one the
	// administrator wrote (whose IDNA form starts "xn--").
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			return "", errors.New("host must be ASCII: write an international name in its xn-- form")
		}
	}
	h := strings.ToLower(host)
	if n := len(h); n > 1 && h[n-1] == '.' {
		h = h[:n-1]
	}
	wild := strings.HasPrefix(h, "*.")
	name := h
	if wild {
		name = h[2:]
	}
	switch {
	case strings.Contains(name, "*"):
		return "", errors.New(`"*" is only allowed as a whole first label ("*.example.com")`)
	case strings.Contains(name, ":"):
		return "", errors.New("host must not have a port (routes match any port)")
	}
	if _, err := checkName(name); err != nil {
		return "", err
	}
	if !wild {
		return h, nil
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return "", errors.New(`"*." must precede a domain name, not an IPv4 address`)
	}
	return h[1:], nil
}

// HostKey is a route host or allowed_redirect_hosts host (without its
// port) as a key for Covers: "" for "", "a.example.com" for
// "A.Example.com.", ".example.com" for "*.example.com". Routes, return
// hosts, forward-auth's subrequest check and the configuration check all
// read hosts this one way.
func HostKey(pattern string) (string, error) { return compileHost(pattern) }

// Covers reports whether host key key matches name, a Host's Name as
// ParseHost makes it: the exact name, or for a wildcard key
// (".example.com") a name strictly under it at any depth, never the
// domain itself nor "evil-example.com". The key "" (any host) covers no
// name here: callers decide what a host-less route means. It does not
// allocate.
func Covers(key, name string) bool {
	if key == "" || name == "" {
		return false
	}
	if key[0] != '.' {
		return key == name
	}
	return len(name) > len(key) && name[0] != '.' && strings.HasSuffix(name, key)
}

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
		return Host{}, errors.New("policy: empty host")
	case len(s) > maxHostBytes:
		return Host{}, errors.New("policy: host longer than 255 bytes")
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
	lower, err := checkName(name)
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
		return Host{}, errors.New("policy: host has an unclosed '['")
	}
	addr, err := netip.ParseAddr(s[1:end])
	if err != nil || !addr.Is6() || addr.Zone() != "" {
		return Host{}, errors.New("policy: host in brackets is not an IPv6 address")
	}
	h := Host{Name: addr.String(), ipv6: true}
	if rest := s[end+1:]; rest != "" {
		if rest[0] != ':' {
			return Host{}, errors.New("policy: host has text after ']'")
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
		return errors.New("policy: host port is not a number from 1 to 65535")
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return errors.New("policy: host port is not a number from 1 to 65535")
		}
		n = n*10 + int(p[i]-'0')
	}
	if n > 65535 {
		return errors.New("policy: host port is not a number from 1 to 65535")
	}
	return nil
}

// checkName checks a DNS name or IPv4 address (without port or
// trailing dot) and reports whether it has upper-case letters.
func checkName(name string) (upper bool, err error) {
	if name == "" || len(name) > 253 {
		return false, errors.New("policy: host name is empty or longer than 253 bytes")
	}
	labelStart, lastNumeric := 0, true
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			if n := i - labelStart; n == 0 || n > 63 {
				return false, errors.New("policy: host has an empty or overlong label")
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
			return false, errors.New("policy: host has a character not allowed in a host name")
		}
	}
	// A name ending in a numeric label is an IPv4 address or nothing:
	// "1.2.3", "127.1" or "0177.0.0.1" mean other addresses to inet_aton.
	if lastNumeric {
		if a, perr := netip.ParseAddr(name); perr != nil || !a.Is4() {
			return false, errors.New("policy: host is numeric but not a dotted-decimal IPv4 address")
		}
	}
	return upper, nil
}
