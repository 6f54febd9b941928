package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// A route's allow_groups, allow_emails or allow_email_domains lets in an
// identity with "at least one" listed entry: an explicitly empty list
// (`allow_groups = []`, as a template renders a list whose values were
// emptied) reads as letting no one in. The gateway read it as the key left
// out, so the route admitted every signed-in user, and check and reload
// accepted the file. Such a list is now an error naming its line: the
// reload is rejected and the rule in force stays.
func TestEmptyAllowListNeverOpensARoute(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []string{"staff"}}}})
	up := newUpstream(t)
	cfg := func(rule string) string {
		return tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
			Routes: "\n[[routes]]\npath = \"/admin/**\"\n" + rule + "\n\n[[routes]]\npath = \"/**\"\n"}.String()
	}
	a := pickAddrs(t)
	gw := startGateway(t, a, cfg(`allow_groups = ["admins"]`))
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	for i, rule := range []string{"allow_groups = []", "allow_emails = []", "allow_email_domains = []"} {
		doc := cfg(rule)
		gw.rewrite(t, a, doc)
		gw.signal(t, syscall.SIGHUP)
		reloaded := waitReloads(t, gw, i+1)
		line := 1 + strings.Count(doc[:strings.Index(doc, rule)], "\n")
		key := strings.TrimSuffix(rule, " = []")
		before := up.count()
		status, _, _ := get(t, c, gw.URL+"/admin/panel")
		if reloaded || status != 403 || up.count() != before {
			t.Errorf("%s: reload accepted %v, bob (groups staff) got %d for /admin/panel, want rejected and 403", rule, reloaded, status)
		}
		if want := fmt.Sprintf(":%d: routes[0].%s: ", line, key); !strings.Contains(gw.Proc.Output(), want) {
			t.Errorf("%s: the rejection does not name %q; output:\n%s", rule, want, gw.Proc.Output())
		}
	}
}

// waitReloads waits until the gateway has ended its n-th reload, accepted
// or rejected, and says whether the last was accepted.
func waitReloads(tb testing.TB, gw *gateway, n int) bool {
	tb.Helper()
	const ok, rejected = `msg="config reloaded"`, `msg="config reload rejected`
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := gw.completeOutput()
		if strings.Count(out, ok)+strings.Count(out, rejected) >= n {
			return strings.LastIndex(out, ok) > strings.LastIndex(out, rejected)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waiting for reload %d; output:\n%s", n, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
