package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestForwardAuthRefreshChunkedCookie: a session too big for one cookie
// (a user with many groups, the cookie store) is refreshed while /auth
// answers. Traefik's addAuthCookiesToResponse passes every chunk of the new
// cookie to the browser, which stays signed in. nginx, Caddy and
// ingress-nginx pass the first Set-Cookie only: the browser holds the new
// first chunk beside the old others, which open to nothing, and is signed
// out at every refresh, so the gateway says so, once, in its log, naming
// the remedy (the redis store) and never a cookie's value.
func TestForwardAuthRefreshChunkedCookie(t *testing.T) {
	t.Parallel() // one front each, in parallel: each has its own gateway, provider, app and ports
	for _, front := range frontProxies {
		t.Run(front.name, func(t *testing.T) {
			t.Parallel()
			// Every access token is within refresh_margin of its expiry:
			// each authenticated /auth refreshes the session.
			s := behindFrontWith(t, front.trusted, front.start,
				oidctest.Options{AccessTokenLifetime: 2 * time.Minute}, "refresh_margin = \"150s\"\n")
			p, addr := s.p, s.front
			groups := []any{"staff"}
			for i := range 40 { // random: no compression shrinks it
				groups = append(groups, fmt.Sprintf("group-%d-%s", i, randomSecret(t)))
			}
			p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{
				"email": "alice@example.com", "email_verified": true, "groups": groups}})
			c := browser(t)
			// The login's last step, /hello through the front, refreshes.
			if status, body, _ := get(t, c, "http://"+addr+"/hello"); status != 200 {
				t.Fatalf("login: %d %.300s", status, body)
			}
			if n := len(c.Jar.Cookies(mustURL(t, "http://"+addr))); n < 2 {
				t.Fatalf("the session is in %d cookie(s), want chunks", n)
			}
			for i := range 3 {
				tokens := p.Requests("/token")
				status, hdr := send(t, c, "GET", "http://"+addr+"/hello", nil)
				if front.name != "traefik" {
					break
				}
				if status != 200 || p.Requests("/token") <= tokens {
					t.Fatalf("request %d after a refresh: %d (token requests %d -> %d), Set-Cookie names %q",
						i, status, tokens, p.Requests("/token"), setCookieNames(hdr.Values("Set-Cookie")))
				}
			}
			const warned = "a refreshed session needs several cookies on a forward-auth answer"
			wantLines(t, s.gw, warned)    // the log reaches the test through a pipe
			out := settledOutput(t, s.gw) // a second warning too
			if n := strings.Count(out, warned); n != 1 {
				t.Errorf("the gateway warned %d times about a chunked forward-auth cookie, want once:\n%s", n, out)
			}
			for _, ck := range c.Jar.Cookies(mustURL(t, "http://"+addr)) {
				if len(ck.Value) > 16 && strings.Contains(out, ck.Value[len(ck.Value)-16:]) {
					t.Errorf("the gateway's log holds cookie %s's value", ck.Name)
				}
			}
		})
	}
}

// setCookieNames are the cookie names of Set-Cookie values (never values:
// a session cookie's value is a credential).
func setCookieNames(vals []string) []string {
	var names []string
	for _, v := range vals {
		name, _, _ := strings.Cut(v, "=")
		names = append(names, name)
	}
	return names
}
