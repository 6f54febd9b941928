package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// hopByHopIdentity are the identity headers a front proxy sets on the
// request to the app from the gateway's answer. A client that names them in
// its Connection header asks every proxy that honours RFC 9110 §7.6.1 (Go's
// ReverseProxy, Caddy, Traefik) to remove them before forwarding: removed
// after the proxy has set them, the app would see the user without the
// groups that restrict them, or without any identity.
var hopByHopIdentity = []string{
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups",
	"X-Forwarded-Preferred-Username", "X-Portcullis-Jwt-Assertion",
}

// connectionCase has alice (group admins) ask for a page through the front
// proxy with every identity header named in Connection: the app must
// receive her identity headers as the gateway answered them, or the request
// must be refused before it reaches the app. prefix is what the names of
// the headers the app reads begin with: "X-Forwarded-" (nginx, Caddy) or
// "X-Auth-Request-" (Traefik, which passes the answer's own names).
func connectionCase(t *testing.T, front, prefix string, p *oidctest.Provider, up *upstream) {
	t.Helper()
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": []any{"admins"}}})
	alice := browser(t)
	if status, body, _ := get(t, alice, front+"/hello"); status != 200 {
		t.Fatalf("alice's login: %d %s", status, body)
	}
	named := strings.NewReplacer("X-Forwarded-", prefix, "x-forwarded-", strings.ToLower(prefix))
	for _, conn := range []string{
		named.Replace(strings.Join(hopByHopIdentity, ", ")),
		named.Replace("keep-alive, X-Forwarded-Groups"),
		named.Replace("x-forwarded-groups"),
		"X-Portcullis-Jwt-Assertion",
	} {
		before := up.count()
		status, _ := send(t, alice, "GET", front+"/hello", map[string]string{"Connection": conn})
		if up.count() == before {
			if status < 400 {
				t.Errorf("Connection: %s: %d without reaching the app", conn, status)
			}
			continue
		}
		got := up.last().Headers
		want := map[string]string{prefix + "User": "alice", prefix + "Email": "alice@example.com",
			prefix + "Groups": "admins"}
		for k, v := range want {
			if g := got.Get(k); g != v {
				t.Errorf("Connection: %s: %d, and the app received %s = %q, want %q", conn, status, k, g, v)
			}
		}
		if got.Get("X-Portcullis-Jwt-Assertion") == "" {
			t.Errorf("Connection: %s: %d, and the app received no assertion", conn, status)
		}
	}
}

// TestForwardAuthConnectionHeader runs connectionCase behind every
// documented front proxy: Traefik and ingress-nginx pass the answer's
// X-Auth-Request-* names to the app, nginx and Caddy the X-Forwarded-* ones.
func TestForwardAuthConnectionHeader(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	prefix := map[string]string{"nginx": "X-Forwarded-", "caddy": "X-Forwarded-",
		"ingress-nginx": "X-Auth-Request-", "traefik": "X-Auth-Request-"}
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			s := behindFront(t, front.trusted, front.start)
			connectionCase(t, "http://"+s.front, prefix[front.name], s.p, s.up)
		})
	}
}
