package policy

import (
	"errors"
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
