package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestForwardAuthAttacks: through real nginx and Caddy with the documented
// forward-auth snippets, requests that the gateway once judged as something
// else than what the application receives are refused, and the application
// never receives them: "/admin/../public/x" and encoded variants (judged as
// public, served unresolved), "/admin/x%2F..%2F..%2Fpublic%2Fy{" (whose
// encoded slashes url.URL.EscapedPath decoded), and a method-override
// header (POST authorized, DELETE performed by the application).
func TestForwardAuthAttacks(t *testing.T) {
	for _, front := range []string{"nginx", "caddy"} {
		t.Run(front, func(t *testing.T) {
			up := newUpstream(t)
			p := oidctest.New(t, oidctest.Options{})
			addr := testenv.Addr(testenv.FreePort(t))
			a := pickAddrs(t)
			app := strings.TrimPrefix(up.URL, "http://")
			if front == "nginx" {
				startGateway(t, a, forwardAuthConfig(p, "http://"+addr, up.URL, "127.0.0.2/32"))
				startNginx(t, addr, a.Listen, app)
			} else {
				startGateway(t, a, forwardAuthConfig(p, "http://"+addr, up.URL, "127.0.0.1/32"))
				startCaddy(t, addr, a.Listen, app)
			}
			before := up.count()
			status := rawStatus(t, addr, "POST /public/x HTTP/1.1\r\nHost: "+addr+"\r\nX-HTTP-Method-Override: DELETE\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			if status == http.StatusOK || up.count() != before {
				t.Errorf("method override: status %d, the app received it", status)
			}
			for _, target := range []string{
				"/admin/x%2F..%2F..%2Fpublic%2Fy{",
				"/admin/x%2F..%2F..%2Fpublic%2Fy|",
				"/admin/../public/x",
				"/admin/%2e%2e/public/x",
				"/admin/x/..%2F..%2Fpublic/y",
				"/public/%E2%80%A5%EF%BC%8Fadmin/x", // "‥／": "../" to an upstream that applies NFKC
			} {
				before := up.count()
				status := rawStatus(t, addr, "GET "+target+" HTTP/1.1\r\nHost: "+addr+"\r\nAccept: application/json\r\nConnection: close\r\n\r\n")
				if status == http.StatusOK || up.count() != before {
					t.Errorf("%s: status %d, the app received %d requests (last %q): an anonymous /admin request got through",
						target, status, up.count()-before, up.lastPath())
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
