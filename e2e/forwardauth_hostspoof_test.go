package e2e

import (
	"net/http"
	"testing"
)

// TestForwardAuthNginxHostSpoof: behind docs/forward-auth/nginx.conf, the
// front's host is served by routes without a host, and public.test by a
// public one. An absolute-form request line names a host apart from the
// Host header, and nginx's $host (the host it routes, decides by and
// forwards) is the request line's: naming the front there with Host:
// public.test is decided as the front (a 401 for an anonymous DELETE), and
// naming public.test there with the front's Host is the snippet's 421. A
// forged Host alone is the 421 too. None reaches the app.
func TestForwardAuthNginxHostSpoof(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startNginx)
	const tail = "Accept: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"absolute-form names the front", "DELETE http://" + s.front + "/admin/secret HTTP/1.1\r\nHost: public.test\r\n", http.StatusUnauthorized},
		{"absolute-form names public.test", "DELETE http://public.test/admin/secret HTTP/1.1\r\nHost: " + s.front + "\r\n", http.StatusMisdirectedRequest},
		{"forged Host", "DELETE /admin/secret HTTP/1.1\r\nHost: public.test\r\n", http.StatusMisdirectedRequest},
		{"untrusted X-Forwarded-Host", "DELETE /admin/secret HTTP/1.1\r\nHost: " + s.front + "\r\nX-Forwarded-Host: public.test\r\n", http.StatusUnauthorized},
	} {
		before := s.up.count()
		if status := rawStatus(t, s.front, tc.request+tail); status != tc.status || s.up.count() != before {
			t.Errorf("%s: %d, app reached %d times, want %d", tc.name, status, s.up.count()-before, tc.status)
		}
	}
	// The honest request still reaches the app.
	before := s.up.count()
	if status := rawStatus(t, s.front, "GET http://"+s.front+"/public/x HTTP/1.1\r\nHost: "+s.front+"\r\n"+tail); status != http.StatusOK || s.up.count() != before+1 {
		t.Errorf("GET /public/x in absolute form: %d", status)
	}
}
