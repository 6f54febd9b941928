package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestForwardAuthIngressNginxCentral runs
// docs/forward-auth/ingress-nginx-central.yaml, the Helm chart's example:
// the app's host has no /oauth2/ paths and signs in on the gateway's own
// host (public_url), which returns to the app's page (allowed_redirect_hosts).
// A browser without a session signs in and lands on the page it asked for;
// the hostile client's requests and identity headers are refused as through
// the same-host snippet; the app's host does not serve the gateway's
// endpoints.
func TestForwardAuthIngressNginxCentral(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	cfg := forwardAuthConfig(p, "http://"+a.Listen, up.URL, "127.0.0.2/32")
	cfg = strings.Replace(cfg, "[server]\n", "[server]\nallowed_redirect_hosts = [\""+front+"\"]\n", 1)
	gw := startGateway(t, a, cfg)
	startIngressNginxCentral(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com", "email_verified": true}})
	status, body, resp := get(t, browser(t), "http://"+front+"/hello?q=1")
	if final := resp.Request.URL.String(); status != 200 || final != "http://"+front+"/hello?q=1" {
		t.Fatalf("sign-in through the sign-in host: %d at %s %.200s\n%s", status, resp.Request.URL, body, gw.Proc.Output())
	}
	if got := decodeSeen(t, body); got.Headers.Get("X-Auth-Request-User") != "alice" {
		t.Errorf("the app saw X-Auth-Request-User %q", got.Headers.Get("X-Auth-Request-User"))
	}
	before := up.count()
	if status, _ := send(t, browser(t), "GET", "http://"+front+"/oauth2/start?rd=/", nil); status == 200 && up.count() == before {
		t.Errorf("the app's host served the gateway's start")
	}
	hostileCase(t, "http://"+front, "X-Auth-Request-User", p, up)
}
