package proxy

import (
	"log/slog"
	"net/http"
	"strings"
)

// warnChunkedAuthCookie warns, once per process, when a forward-auth answer
// sets a refreshed session in more than one cookie (the cookie store's
// chunks). nginx's auth_request_set, Caddy's placeholder and ingress-nginx's
// auth-always-set-cookie pass the first Set-Cookie of the answer only: the
// browser then holds the new first chunk beside the old others, which open
// to nothing, and the user is signed out at every refresh. Only Traefik's
// addAuthCookiesToResponse passes them all. Called after a refresh is saved,
// never on a request that refreshes nothing.
func (h *Handler) warnChunkedAuthCookie(ex *exchange, r *http.Request) {
	if !h.exactAuthPath(r) || setCookies(ex.Header()) < 2 {
		return
	}
	h.chunkWarn.Do(func() {
		h.log.Warn("proxy: a refreshed session needs several cookies on a forward-auth answer; "+
			"nginx, Caddy and ingress-nginx pass only the first to the browser, which is then signed out: "+
			"use session.store = \"redis\" behind them (docs/forward-auth.md)",
			slog.Int("cookies", setCookies(ex.Header())))
	})
}

// setCookies counts the cookies hdr sets, not those it expires (Go's
// http.SetCookie writes Max-Age=0 for an expiry): a session that shrinks
// to one cookie expires its old chunks, which are harmless left behind.
func setCookies(hdr http.Header) int {
	n := 0
	for _, v := range hdr["Set-Cookie"] {
		if !strings.Contains(v, "; Max-Age=0") {
			n++
		}
	}
	return n
}
