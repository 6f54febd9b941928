package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestPendingSignInsFitNginx: a user with a large session (200 group IDs,
// which the cookie store keeps) and the most login-state cookies the
// gateway lets a browser hold (5 pending sign-ins with long return URLs:
// tabs, or a page that sends a window through start again and again) must
// still get through the documented nginx front. nginx reads a request's
// header line into one of its large_client_header_buffers (8k by default)
// and answers 400 "Request Header Or Cookie Too Large" itself: the
// gateway's 431, which expires login-state cookies, is never reached.
func TestPendingSignInsFitNginx(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startNginx)
	pendingSignInsCase(t, "http://"+s.front, "X-Forwarded-Groups", s)
}

// TestPendingSignInsFitIngressNginx is TestPendingSignInsFitNginx behind
// nginx as ingress-nginx configures it, with the controller ConfigMap's
// large-client-header-buffers that docs/forward-auth/ingress-nginx.yaml
// names.
func TestPendingSignInsFitIngressNginx(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startIngressNginx)
	pendingSignInsCase(t, "http://"+s.front, "X-Auth-Request-Groups", s)
}

// pendingSignInsCase signs in a user with 200 groups through front, starts
// five more sign-ins from another site with long return URLs, and asks
// for a page again.
func pendingSignInsCase(t *testing.T, front, groupsHeader string, s frontSetup) {
	t.Helper()
	manyGroupsCase(t, front, groupsHeader, s.p, s.up)
	c := browser(t)
	status, body, _ := get(t, c, front+"/admin/x")
	if status != 200 {
		t.Fatalf("sign-in: %d %.300s", status, body)
	}
	// The app's cookies of manyGroupsCase's client are not this one's:
	// only the session and the login states below ride on its Cookie line.
	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rd := "/admin/x?q=" + strings.Repeat("a", 1000)
	for i := range 5 {
		// A link from another site: the session stays (start ends it
		// only for the gateway's own pages).
		req, _ := http.NewRequest("GET", front+"/oauth2/start?rd="+url.QueryEscape(rd), nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("pending sign-in %d: %d, want 302 to the provider", i+1, resp.StatusCode)
		}
	}
	u, _ := url.Parse(front + "/")
	n := 0
	for _, ck := range c.Jar.Cookies(u) {
		n += len(ck.Name) + len(ck.Value) + 2
	}
	status, body, _ = get(t, c, front+"/admin/x")
	if status != 200 {
		t.Errorf("with a %d-byte Cookie line: %d %.200s", n, status, body)
	}
}
