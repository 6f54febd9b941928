package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAuditLinesProxyMode: a real gateway's log at info answers who did
// what and why for a sign-in, a refused request and a sign-out: the user,
// the issuer, the rule that refused (a 403 was outcome=denied and nothing
// more), what became of the refresh token at the provider. No line holds a
// token.
func TestAuditLinesProxyMode(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{RecordMinted: true, User: &oidctest.User{Subject: "bob", Claims: map[string]any{
		"email": "bob@example.org", "email_verified": true, "groups": []string{"staff"}}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL, Routes: demoRoutes + "[[routes]]\npath = \"/**\"\n"}.String())
	c := browser(t)
	if status, body, _ := get(t, c, gw.URL+"/hello"); status != 200 {
		t.Fatalf("sign-in: %d %s", status, body)
	}
	if status, _, _ := get(t, c, gw.URL+"/admin/panel"); status != 403 {
		t.Fatalf("bob on /admin/panel: %d, want 403", status)
	}
	if status, _, _ := get(t, c, gw.URL+"/oauth2/sign_out"); status != 200 {
		t.Fatalf("sign-out ended at %d", status)
	}
	wantLines(t, gw, `msg="proxy: signed in" sub=bob issuer=`+p.Issuer,
		`path=/admin/panel route=1 outcome=denied status=403`,
		`code=forbidden reason="not in any of groups: admins"`,
		`msg="proxy: signed out" sub=bob refresh_token=revoked provider_logout=true`)
	out := settledOutput(t, gw)
	for _, tok := range p.Minted() {
		if strings.Contains(out, tok) {
			t.Errorf("the log holds a token the provider minted:\n%s", gw.Proc.Output())
		}
	}
}

// TestAuditLinesForwardAuthNginx: behind docs/forward-auth/nginx.conf the
// refused subrequest's line names the request nginx asked about (its host,
// with the port the browser named, and path) and why it was refused.
func TestAuditLinesForwardAuthNginx(t *testing.T) {
	s := behindFrontWith(t, "127.0.0.2/32", startNginx, oidctest.Options{User: &oidctest.User{Subject: "bob",
		Claims: map[string]any{"email": "bob@example.org", "email_verified": true, "groups": []string{"staff"}}}}, "")
	front := "http://" + s.front
	c := browser(t)
	if status, body, _ := get(t, c, front+"/hello"); status != 200 {
		t.Fatalf("sign-in through nginx: %d %s", status, body)
	}
	if status, _, _ := get(t, c, front+"/admin/panel"); status != 403 {
		t.Fatalf("bob on /admin/panel: %d, want 403", status)
	}
	if st := apiStatus(t, c, "POST", front+"/api/things", strings.NewReader("{}")); st != 403 {
		t.Fatalf("POST /api/things without api:write: %d, want 403", st)
	}
	host := s.front
	wantLines(t, s.gw, `msg="proxy: signed in" sub=bob`,
		`method=GET host=`+host+` path=/admin/panel route=2 outcome=denied status=403`,
		`code=forbidden reason="not in any of groups: admins"`,
		`method=POST host=`+host+` path=/api/things`,
		`code=insufficient_scope reason="missing scope api:write"`)
}

// wantLines waits for each of want in gw's output (request lines are
// written at least every 200 ms).
func wantLines(t *testing.T, gw *gateway, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, w := range want {
		for !strings.Contains(gw.completeOutput(), w) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(gw.completeOutput(), w) {
			t.Errorf("the log lacks %s", w)
		}
	}
	if t.Failed() {
		t.Logf("gateway output:\n%s", gw.Proc.Output())
	}
}
