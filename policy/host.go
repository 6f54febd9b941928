package policy

import (
	"errors"
	"strings"
)

// NormalizeHost turns a Host header value (or X-Forwarded-Host) into the form
// routes compare against: the port removed (including the "[::1]:8080" form,
// whose brackets go too), lower-cased, and one trailing dot removed, so that
// "Dash.Example.COM.:443" becomes "dash.example.com". It allocates only when
// the host has upper-case letters.
func NormalizeHost(host string) string {
	h := trimHost(host)
	for i := 0; i < len(h); i++ {
		if 'A' <= h[i] && h[i] <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// trimHost removes the port, IPv6 brackets and one trailing dot, keeping case.
func trimHost(h string) string {
	if len(h) > 0 && h[0] == '[' {
		if end := strings.IndexByte(h, ']'); end > 0 {
			return h[1:end]
		}
		return h
	}
	if i := strings.IndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i+1:], ':') < 0 {
		h = h[:i] // exactly one colon: host:port; more is a bare IPv6 address
	}
	if n := len(h); n > 1 && h[n-1] == '.' {
		h = h[:n-1]
	}
	return h
}

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

// compileHost checks a route's host and returns its key: "" for any host, the
// lower-cased name for an exact host, ".example.com" for "*.example.com".
// A wildcard covers subdomains at any depth ("a.example.com",
// "a.b.example.com") and never the domain itself ("example.com"), nor a
// name that merely ends the same way ("evil-example.com").
func compileHost(host string) (string, error) {
	if host == "" {
		return "", nil
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
	if err := checkHostName(name); err != nil {
		return "", err
	}
	if wild {
		return h[1:], nil
	}
	return h, nil
}

// checkHostName accepts DNS names and IPv4 addresses: labels of letters,
// digits, '-' and '_', separated by single dots.
func checkHostName(name string) error {
	switch {
	case name == "":
		return errors.New("empty host name")
	case len(name) > 253:
		return errors.New("host name longer than 253 characters")
	case strings.Contains(name, "*"):
		return errors.New(`"*" is only allowed as a whole first label ("*.example.com")`)
	case strings.Contains(name, ":"):
		return errors.New("host must not have a port (routes match any port)")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return errors.New("host has an empty label")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return errors.New("host has a character that is not allowed in a DNS name")
			}
		}
	}
	return nil
}
