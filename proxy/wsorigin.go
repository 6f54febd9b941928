package proxy

import (
	"net/http"

	"golang.org/x/net/http/httpguts"
)

// crossOriginWebSocket refuses (403) a WebSocket handshake that the session
// cookie authenticates and that comes from a page outside the gateway's
// origins (sameOrigin: public_url's, the request's own, an allowed
// redirect host's, here one an entry names, not a wildcard's: a wildcard
// covers every sibling host, the attack itself). A browser sends the SameSite=Lax cookie with a
// WebSocket opened by any page of the same site (another port of the host,
// a sibling host), and no CORS holds a WebSocket back: that page read and
// wrote the user's connection while the application saw the user's
// identity (cross-site WebSocket hijacking). A bearer token is no ambient
// credential, and a client that sends no Origin is no browser page: both
// pass. Proxy mode and forward-auth refuse alike (docs/security.md).
func (h *Handler) crossOriginWebSocket(ex *exchange, r *http.Request) *httpError {
	if ex.sess == nil || ex.bearer != "" || !webSocketHandshake(r.Header) || h.fromOrigins(ex, r, true) {
		return nil
	}
	return forbidden("a WebSocket opened by a page of another origin is refused")
}

// webSocketHandshake reports whether hdr opens a WebSocket: an Upgrade
// naming websocket or, as a front proxy may pass the original request's
// end-to-end fields only, a Sec-WebSocket-Key.
func webSocketHandshake(hdr http.Header) bool {
	return hdr["Sec-Websocket-Key"] != nil || httpguts.HeaderValuesContainsToken(hdr["Upgrade"], "websocket")
}
