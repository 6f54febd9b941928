package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// perFront is a want for each documented front proxy, by its name in
// frontProxies.
func perFront(nginx, ingress, caddy, traefik int) map[string]int {
	return map[string]int{"nginx": nginx, "ingress-nginx": ingress, "caddy": caddy, "traefik": traefik}
}

// hostSpoof is a request head, the status each front answers it with, and
// whether the ingress-nginx emulation serves it as public.test.
type hostSpoof struct {
	name, head string
	want       map[string]int
	serves     bool
}

// hostSpoofs are anonymous requests for /admin/secret that name
// public.test (a host whose every route is public) beside, or instead of,
// the front's own host, and what each front answers. nginx's $host (the
// host it routes, decides by and forwards) is the request line's in
// absolute form, lower-cased, without port or trailing dot: another host
// is the snippet's 421. Caddy answers an empty 200 for a host it has no
// site for, Traefik its own 404, and two Host headers are a 400 at every
// front. The ingress-nginx emulation is one server block for every host
// (a controller serves a host without an Ingress from its default
// backend, 404), so it serves public.test as public.test (serves); a
// request whose X-Original-URL names another host than $host is the
// gateway's 400, which its auth_request answers 500, and its 401 is the
// sign-in redirect (302).
func hostSpoofs(front string) []hostSpoof {
	port := front[strings.LastIndex(front, ":"):]
	other := perFront(http.StatusMisdirectedRequest, http.StatusOK, http.StatusOK, http.StatusNotFound)
	return []hostSpoof{
		{"forged Host", "DELETE /admin/secret HTTP/1.1\r\nHost: public.test\r\n", other, true},
		{"Host in upper case", "DELETE /admin/secret HTTP/1.1\r\nHost: PUBLIC.TEST\r\n", other, true},
		{"Host with a trailing dot", "DELETE /admin/secret HTTP/1.1\r\nHost: public.test.\r\n", other, true},
		{"Host with the front's port", "DELETE /admin/secret HTTP/1.1\r\nHost: public.test" + port + "\r\n", other, true},
		{"Host with port 80", "DELETE /admin/secret HTTP/1.1\r\nHost: public.test:80\r\n", other, true},
		{"HTTP/1.0 with a forged Host", "DELETE /admin/secret HTTP/1.0\r\nHost: public.test\r\n", other, true},
		{"absolute-form names public.test", "DELETE http://public.test/admin/secret HTTP/1.1\r\nHost: " + front + "\r\n",
			perFront(421, 500, 200, 404), false},
		{"absolute-form names PUBLIC.TEST", "DELETE HTTP://PUBLIC.TEST/admin/secret HTTP/1.1\r\nHost: " + front + "\r\n",
			perFront(421, 500, 200, 404), false},
		{"absolute-form names the front", "DELETE http://" + front + "/admin/secret HTTP/1.1\r\nHost: public.test\r\n",
			perFront(401, 500, 401, 401), false},
		{"untrusted X-Forwarded-Host", "DELETE /admin/secret HTTP/1.1\r\nHost: " + front + "\r\nX-Forwarded-Host: public.test\r\n",
			perFront(401, 302, 401, 401), false},
		{"the front's host with a trailing dot", "DELETE /admin/secret HTTP/1.1\r\nHost: " + strings.Replace(front, ":", ".:", 1) + "\r\n",
			perFront(401, 302, 200, 401), false},
		{"HTTP/1.0 without Host", "DELETE /admin/secret HTTP/1.0\r\n", perFront(401, 500, 200, 404), false},
		{"a second Host after the front's", "DELETE /admin/secret HTTP/1.1\r\nHost: " + front + "\r\nHost: public.test\r\n",
			perFront(400, 400, 400, 400), false},
		{"a second Host before the front's", "DELETE /admin/secret HTTP/1.1\r\nHost: public.test\r\nHost: " + front + "\r\n",
			perFront(400, 400, 400, 400), false},
		{"two hosts in one Host", "DELETE /admin/secret HTTP/1.1\r\nHost: " + front + ", public.test\r\n",
			perFront(400, 400, 400, 400), false},
	}
}

// TestForwardAuthHostSpoof: behind every documented front proxy, the
// front's host is served by routes without a host, and public.test by a
// public one, while the snippet's block serves one app: nginx once handed a
// request for a host it has no server_name for to its first server block
// (its default), whose app then served DELETE /admin/secret as decided for
// public.test. However a request names public.test (Host in any spelling,
// absolute form, X-Forwarded-Host, two Host headers, none), an anonymous
// DELETE /admin/secret reaches the app only where the front serves it as
// public.test, with that Host (the host decided), and each front answers
// as hostSpoofs says. The honest request still reaches the app.
func TestForwardAuthHostSpoof(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	const tail = "Accept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			for _, tc := range hostSpoofs(s.front) {
				before := s.up.count()
				status := rawStatus(t, s.front, tc.head+tail)
				served := tc.serves && front.name == "ingress-nginx"
				if status != tc.want[front.name] || s.up.count() != before+btoi(served) {
					t.Errorf("%s: %d, app reached %d times, want %d and %d", tc.name, status,
						s.up.count()-before, tc.want[front.name], btoi(served))
					continue
				}
				if got := s.up.last(); served && (got.Host != "public.test" || got.Method != "DELETE" || got.Path != "/admin/secret") {
					t.Errorf("%s: the app received %s %s with Host %q, decided as public.test", tc.name, got.Method, got.Path, got.Host)
				}
			}
			// The honest request still reaches the app, in absolute form
			// too, with the front's X-Forwarded-Proto and -Host (or none),
			// never the client's.
			for _, target := range []string{"/public/x", "http://" + s.front + "/public/x"} {
				before := s.up.count()
				status := rawStatus(t, s.front, "GET "+target+" HTTP/1.1\r\nHost: "+s.front+
					"\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: public.test\r\n"+tail)
				if status != http.StatusOK || s.up.count() != before+1 {
					t.Errorf("GET %s: %d, app reached %d times", target, status, s.up.count()-before)
					continue
				}
				got := s.up.last().Headers
				if p := got.Values("X-Forwarded-Proto"); len(p) != 1 || p[0] != "http" || strings.Contains(strings.Join(got.Values("X-Forwarded-Host"), ","), "public.test") {
					t.Errorf("GET %s: the app received X-Forwarded-Proto %q, X-Forwarded-Host %q", target, p, got.Values("X-Forwarded-Host"))
				}
			}
		})
	}
}

// btoi is 1 for true.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
