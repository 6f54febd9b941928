package e2e

import "testing"

// TestForwardAuthRequestLineForms: behind every documented front proxy,
// request lines that name no path of the app's (OPTIONS "*", CONNECT to
// public.test or to the front itself) or carry a fragment, which a
// browser never sends and a URL parser may drop before the dot-segments
// it hides ("/public/x#/../../admin/secret"), never reach the app. nginx
// refuses the first three itself (400) and hands on the gateway's 400 for
// a fragment, which ingress-nginx's auth_request answers 500. Caddy and
// Traefik are Go servers, which answer OPTIONS "*" themselves (an empty
// 200); Caddy answers an empty 200 for CONNECT's host, for which it has
// no site, Traefik its own 404; CONNECT to the front is the gateway's 405.
// Caddy hands the gateway's 400 for a fragment on, and Traefik answers
// its own.
func TestForwardAuthRequestLineForms(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			for _, tc := range []struct {
				line string
				want map[string]int
			}{
				{"OPTIONS * HTTP/1.1", perFront(400, 400, 200, 200)},
				{"CONNECT public.test:80 HTTP/1.1", perFront(400, 400, 200, 404)},
				{"CONNECT " + s.front + " HTTP/1.1", perFront(400, 400, 405, 405)},
				{"DELETE /admin/secret#x HTTP/1.1", perFront(400, 500, 400, 400)},
				{"DELETE /public/x#/../../admin/secret HTTP/1.1", perFront(400, 500, 400, 400)},
				{"GET /public/x#x HTTP/1.1", perFront(400, 500, 400, 400)},
			} {
				before := s.up.count()
				status := rawStatus(t, s.front, tc.line+"\r\nHost: "+s.front+"\r\nAccept: application/json\r\n"+
					"Content-Length: 0\r\nConnection: close\r\n\r\n")
				if status != tc.want[front.name] || s.up.count() != before {
					t.Errorf("%q: %d, app reached %d times (last %q), want %d and none", tc.line, status,
						s.up.count()-before, s.up.lastPath(), tc.want[front.name])
				}
			}
		})
	}
}
