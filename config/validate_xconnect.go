package config

import "strings"

// warnExtendedConnect remarks on GODEBUG=http2xconnect=1, which Go's HTTP/2
// server reads at start (a substring of GODEBUG, as it does) to announce
// SETTINGS_ENABLE_CONNECT_PROTOCOL: WebSockets over HTTP/2 (RFC 8441). The
// gateway answers every CONNECT 405, extended ones included, so browsers
// that take the offer lose each WebSocket that the HTTP/1.1 Upgrade, decided
// by its route, would have opened.
func (d *decoder) warnExtendedConnect() {
	if v, _ := d.getenv("GODEBUG"); strings.Contains(v, "http2xconnect=1") {
		d.warn("server.listen", "GODEBUG=http2xconnect=1 announces WebSockets over HTTP/2 (RFC 8441 extended CONNECT) on this listener, "+
			"and the gateway answers every CONNECT 405: browsers that take the offer lose their WebSockets; remove it from GODEBUG")
	}
}
