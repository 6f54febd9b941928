package e2e

import (
	"strings"
	"testing"
)

// frontResolved are anonymous requests whose path a front or an app
// resolves into another (dot-segments, encoded slashes and dots, a
// backslash, a path parameter, "‥／", which is "../" to an upstream that
// applies NFKC, a double escape), or whose method a header overrides, and
// what reaches the app behind Traefik: its entry point cleans the path
// (sanitizePath) before it asks the gateway, which then decides, and the
// app receives, the clean path (traefikPath; "" for nothing). The gateway
// refuses every raw one (400), which ingress-nginx's auth_request answers
// 500; the nginx snippet asks the gateway again for its answer, the 400.
var frontResolved = []struct {
	method, target string
	traefik        int
	traefikPath    string
}{
	{"GET", "/admin/x%2F..%2F..%2Fpublic%2Fy{", 200, "/public/y%7B"},
	{"GET", "/admin/x%2F..%2F..%2Fpublic%2Fy|", 200, "/public/y%7C"},
	{"GET", "/admin/x%2F..%2F..%2Fpublic%2Fy", 400, ""},
	{"DELETE", "/public/x%2F..%2F..%2Fadmin/secret{", 401, ""},
	{"GET", "/admin/../public/x", 200, "/public/x"},
	{"GET", "/admin/%2e%2e/public/x", 200, "/public/x"},
	{"GET", "/admin/x/..%2F..%2Fpublic/y", 400, ""},
	{"GET", "/public/%E2%80%A5%EF%BC%8Fadmin/x", 400, ""},
	{"DELETE", "/public/../admin/secret", 401, ""},
	{"DELETE", "/public/%2E%2E/admin/secret", 401, ""},
	{"DELETE", "/public/.%2e/admin/secret", 401, ""},
	{"DELETE", "/public/./../admin/secret", 401, ""},
	{"DELETE", "/public/x/../../admin/secret", 401, ""},
	{"DELETE", "//public/../admin/secret", 401, ""},
	{"DELETE", "/public//../admin/secret", 401, ""},
	{"DELETE", "/public/x/..%2F..%2Fadmin/secret", 400, ""},
	{"DELETE", "/public%2F..%2Fadmin/secret", 400, ""},
	{"DELETE", "/public\\..\\admin/secret", 400, ""},
	{"DELETE", "/public/..;/admin/secret", 400, ""},
	{"DELETE", "/admin%2Fsecret", 400, ""},
	{"DELETE", "/public/%2561dmin", 400, ""},
}

// TestForwardAuthAttacks: behind every documented front proxy, requests
// that the gateway once judged as something else than what the application
// receives (frontResolved, and a POST with X-HTTP-Method-Override: DELETE)
// never reach the app undecided: each front answers as frontResolved says,
// and only Traefik, which decides the clean path, lets a request whose
// clean path is public reach the app, with that path.
func TestForwardAuthAttacks(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	refused := map[string]int{"nginx": 400, "ingress-nginx": 500, "caddy": 400, "traefik": 400}
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			const tail = "Accept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
			before := s.up.count()
			resp, body := rawResponse(t, s.front, "POST /public/x HTTP/1.1\r\nHost: "+s.front+"\r\nX-HTTP-Method-Override: DELETE\r\n"+tail)
			if resp.StatusCode != refused[front.name] || s.up.count() != before {
				t.Errorf("method override: status %d, the app received %d requests", resp.StatusCode, s.up.count()-before)
			}
			// The client reads the gateway's reason, but behind ingress-nginx.
			if front.name != "ingress-nginx" && !strings.Contains(body, `"error":"invalid_request"`) {
				t.Errorf("method override: %d %.200q, not the gateway's answer", resp.StatusCode, body)
			}
			for _, tc := range frontResolved {
				want, path := refused[front.name], ""
				if front.name == "traefik" {
					want, path = tc.traefik, tc.traefikPath
				}
				before := s.up.count()
				status := rawStatus(t, s.front, tc.method+" "+tc.target+" HTTP/1.1\r\nHost: "+s.front+"\r\n"+tail)
				got := ""
				if s.up.count() != before {
					got = s.up.lastPath()
				}
				if status != want || s.up.count()-before != btoi(path != "") || got != path {
					t.Errorf("%s %s: status %d, the app received %d requests (last %q), want %d and %q",
						tc.method, tc.target, status, s.up.count()-before, got, want, path)
				}
			}
		})
	}
}

// rawStatus sends raw bytes to addr and returns the answer's status.
func rawStatus(t *testing.T, addr, raw string) int {
	t.Helper()
	resp, _ := rawResponse(t, addr, raw)
	return resp.StatusCode
}

// lastPath is the path of the last request the upstream received.
func (u *upstream) lastPath() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.reqs) == 0 {
		return ""
	}
	return u.reqs[len(u.reqs)-1].Path
}
