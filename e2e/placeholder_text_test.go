package e2e

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestPlaceholderTextReachesAppAsSent: the snippets hand the gateway's
// answer on with the fronts' variables and placeholders (Caddy's
// {http.reverse_proxy.header.Cookie} carries the browser's own cookies,
// and its sign-in redirect the path and query the gateway escaped), and a
// front that expanded placeholders in the text they stand for (the class
// of Caddy's vars matcher advisories) would hand a client its environment
// or another request's header. Through each front, cookies, a header and
// a query spelt as placeholders reach the app, and the redirect to sign
// in (or its page), as the client sent them: nothing expanded. The fronts
// decide the expansion; the gateway's share is the Cookie it hands back
// without its own cookies (setAuthCookies) and the return URI escaped as
// an rd value (X-Auth-Request-Return-Uri, which the nginx and Caddy
// snippets paste in): unescaped, the rd ends at the query's '&'.
func TestPlaceholderTextReachesAppAsSent(t *testing.T) {
	t.Parallel()
	const cookies = "x={env.HOME}; y={http.request.header.Authorization}; z={http.reverse_proxy.header.X-Auth-Request-User}"
	home := os.Getenv("HOME")
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			own := signedInBehindFront(t, s)
			raw := "GET /hello HTTP/1.1\r\nHost: " + s.front + "\r\nCookie: " + strings.Join(own, "; ") + "; " + cookies +
				"\r\nAuthorization: Basic c2VjcmV0\r\nX-Note: {env.HOME}\r\nConnection: close\r\n\r\n"
			before := s.up.count()
			if status := rawStatus(t, s.front, raw); status != http.StatusOK || s.up.count() != before+1 {
				t.Fatalf("signed-in GET /hello: %d, app reached %d times", status, s.up.count()-before)
			}
			h := s.up.last().Headers
			if !slices.Equal(h["Cookie"], []string{cookies}) || !slices.Equal(h["X-Note"], []string{"{env.HOME}"}) {
				got := h["Cookie"] // its values only when the gateway's cookie is not among them
				if !slices.Equal(cookieNames(got), []string{"x y z"}) {
					got = cookieNames(got)
				}
				t.Errorf("the app received Cookie %q and X-Note %q, want them as sent", got, h["X-Note"])
			}
			resp, body := rawResponse(t, s.front, "GET "+placeholderQuery+" HTTP/1.1\r\nHost: "+s.front+
				"\r\nAccept: text/html\r\nSec-Fetch-Mode: navigate\r\nCookie: a=b\r\nConnection: close\r\n\r\n")
			// A redirect to sign in (Traefik's snippet sends the gateway's
			// 401 page, which links there, as it is).
			loc := resp.Header.Get("Location")
			if resp.StatusCode/100 != 3 && resp.StatusCode != http.StatusUnauthorized ||
				strings.Contains(loc+body, home) || strings.Contains(loc+body, "a=b") {
				t.Errorf("an anonymous navigation: %d, Location %q; want one to sign in naming the query as sent", resp.StatusCode, loc)
			}
			// ingress-nginx's rd is its auth-signin's $escaped_request_uri
			// (here the harness's stand-in), not the gateway's.
			if rd := signInReturn(loc, body); front.name != "ingress-nginx" && rd != placeholderQuery {
				t.Errorf("an anonymous navigation: the sign-in's rd is %q, want %q", rd, placeholderQuery)
			}
		})
	}
}

// placeholderQuery is a path and query spelt as the fronts' placeholders.
const placeholderQuery = "/hello?q={env.HOME}&r={http.request.header.Cookie}"

// signInReturn is the rd of the sign-in URL in loc or, without one, in
// body (the gateway's 401 page), decoded once: "" when neither names one.
func signInReturn(loc, body string) string {
	s := loc
	if s == "" {
		s = body
	}
	_, rd, ok := strings.Cut(s, "/oauth2/start?rd=")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rd, "\"&"); i >= 0 {
		rd = rd[:i]
	}
	v, _ := url.QueryUnescape(rd)
	return v
}
