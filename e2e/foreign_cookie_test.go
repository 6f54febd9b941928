package e2e

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// otherSecret is a session secret no other test gateway holds.
const otherSecret = "q8X2mV9pL3rT7wY1zB5nC0dF4gH6jK8lM2nP4qR6sT8="

// TestForeignSessionCookieIsNamed: two replicas behind one load balancer
// with different session.secrets (or one redeployed with a new secret and
// without the old): the other one's cookie opens on neither, and its user
// is sent to sign in at every switch. The request line must tell the
// operator it is a cookie sealed with a secret this gateway does not hold
// (session_cookie=foreign), not a session that ended (stale), with either
// store.
func TestForeignSessionCookieIsNamed(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"cookie", "redis"} {
		p := oidctest.New(t, oidctest.Options{})
		up := newUpstream(t)
		sess := ""
		if store == "redis" {
			sess = redisSession(startRedis(t, false).URL())
		}
		cfg := tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
			Session: sess, Routes: "[[routes]]\npath = \"/**\"\n"}
		a := startGateway(t, pickAddrs(t), cfg.String())
		cfg.Secrets = []string{otherSecret}
		b := startGateway(t, pickAddrs(t), cfg.String())
		c := browser(t)
		loginThrough(t, c, a, "alice")
		ck := sessionCookie(t, c, a)
		if status, _, _ := withCookie(t, "GET", b.URL+"/other", ck, false); status != 401 {
			t.Fatalf("%s store: A's cookie on B: %d, want 401", store, status)
		}
		line := logLine(t, b, "path=/other")
		if !strings.Contains(line, "session_cookie=foreign") {
			t.Errorf("%s store: A's cookie on B:\n%s", store, line)
		}
		if strings.Contains(b.Proc.Output(), ck.Value) {
			t.Errorf("%s store: B's log quotes the cookie", store)
		}
	}
}
