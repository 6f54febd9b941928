package e2e

import (
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRefusedReturnURLIsNamed: a route without a host reached under a name
// that is neither public_url's host nor in allowed_redirect_hosts
// ("localhost" for a public_url of 127.0.0.1) starts a sign-in that comes
// back to "/", and a sign-out's rd to another site is dropped the same way.
// Before, nothing said why; the start's and the sign-out's lines now name
// the host refused (return_refused), escaped, or "-" for an rd that names
// none (javascript:), and an accepted rd adds nothing.
func TestRefusedReturnURLIsNamed(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	port := mustURL(t, gw.URL).Port()
	other := "localhost:" + port

	loc := navigate(t, "GET", gw.URL+"/reports?q=1", other, nil).Header.Get("Location")
	u := mustURL(t, loc)
	if want := "http://" + other + "/reports?q=1"; u.Path != "/oauth2/start" || u.Query().Get("rd") != want {
		t.Fatalf("the request on %s went to %q, want start with rd=%s", other, loc, want)
	}
	navigate(t, "GET", gw.URL+"/oauth2/start?rd=%2Faccepted", "", nil)
	navigate(t, "GET", loc, "", nil)
	navigate(t, "GET", gw.URL+"/oauth2/sign_out?rd="+url.QueryEscape("https://EVIL.example/\"x"), "", nil)
	navigate(t, "GET", gw.URL+"/oauth2/start?rd="+url.QueryEscape("javascript:alert(1)//x"), "", nil)

	var lines []string
	waitFor(t, "the four lines of the endpoints", func() bool {
		lines = linesWith(gw.Proc.Output(), "path=/oauth2/")
		return len(lines) == 4
	})
	if strings.Contains(lines[0], "return_refused") {
		t.Errorf("an accepted rd is named refused:\n%s", lines[0])
	}
	if !strings.Contains(lines[1], "return_refused="+other) {
		t.Errorf("the start that dropped %s does not name it:\n%s", other, lines[1])
	}
	if !strings.Contains(lines[2], `return_refused=evil.example`) {
		t.Errorf("the sign-out that dropped evil.example does not name it:\n%s", lines[2])
	}
	if !strings.HasSuffix(strings.TrimSpace(lines[3]), " return_refused=-") {
		t.Errorf("the start whose rd named no host does not say '-':\n%s", lines[3])
	}
}

// linesWith returns the lines of text that contain s.
func linesWith(text, s string) []string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.HasSuffix(line, "\n") && strings.Contains(line, s) { // complete, as lineWith's
			out = append(out, line)
		}
	}
	return out
}
