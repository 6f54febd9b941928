package proxy

import (
	"net/netip"
	"strings"
)

// peerAddr parses the connection's remote address ("ip:port", as set by
// net/http) into an address, IPv4-mapped IPv6 unmapped. An unparsable
// address yields the zero Addr, which no prefix contains.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remote); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// isTrusted reports whether a is inside one of TrustedProxies, whose
// X-Forwarded-* headers are believed (docs/security.md, trusted proxies).
func (h *Handler) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerHost is the address part of a RemoteAddr ("ip:port" or "[ip]:port")
// for the access log, without allocating: a substring of remote, brackets
// and an IPv4-mapped prefix removed as peerAddr would.
func peerHost(remote string) string {
	host := remote
	if i := strings.LastIndexByte(remote, ':'); i >= 0 && strings.IndexByte(remote[i:], ']') < 0 {
		if strings.Count(remote, ":") == 1 || strings.HasPrefix(remote, "[") {
			host = remote[:i]
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if v4, ok := strings.CutPrefix(host, "::ffff:"); ok && strings.IndexByte(v4, '.') >= 0 {
		return v4
	}
	return host
}
