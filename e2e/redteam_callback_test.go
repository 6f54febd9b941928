package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamCallback: replayed, cross-session, cookieless, duplicated and
// error callbacks sign nobody in, redeem no code they should not, are
// answered with a 4xx page that escapes what the client sent, and the
// honest callback still works.
func TestRedTeamCallback(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", "[[routes]]\npath = \"/**\"\n"))
	// callbackURL: the callback of a login the browser c starts, unvisited.
	callbackURL := func(c *http.Client) string { return pausedLogin(t, c, gw, "/oauth2/start?rd=%2Fhello") }
	n, from := 0, 0
	// why is in the reason of the probe's access-log line, which tells one
	// 4xx from another (a lost state from a malformed callback).
	refused := func(name string, c *http.Client, target string, hdr map[string]string, why string) {
		t.Helper()
		n++
		pr := &probe{method: "GET", target: target, hdr: hdr}
		pr.do(t, c)
		if pr.status < 400 || pr.status > 499 {
			t.Errorf("%s: %d, want a 4xx\n%.300s", name, pr.status, pr.body)
		}
		line := ""
		for !strings.Contains(line, " reason=") { // past the honest callback's line
			line, from = nextLogLine(t, gw, from, "path=/oauth2/callback ")
		}
		if !strings.Contains(line, ` reason="`+why) {
			t.Errorf("%s: refused for another reason than %q:\n%s", name, why, line)
		}
		if m := pr.leaks(); m != "" {
			t.Errorf("%s: echoes %q", name, m)
		}
		if code := mustURL(t, target).Query().Get("code"); code != "" && strings.Contains(pr.body, code) {
			t.Errorf("%s: the page shows the code", name)
		}
		for _, ck := range pr.header.Values("Set-Cookie") {
			if strings.HasPrefix(ck, "portcullis=") && !strings.HasPrefix(ck, "portcullis=;") {
				t.Errorf("%s: sets a session: %s", name, ck)
			}
		}
	}
	noCookies := map[string]string{"Cookie": "x=y"}
	const lost = "This sign-in link is unknown, expired or was already used."

	// The honest flow, then its callback replayed by the same browser.
	alice := browser(t)
	cb := callbackURL(alice)
	if status, body, _ := get(t, alice, cb); status != 200 {
		t.Fatalf("honest callback: %d %s", status, body)
	}
	refused("replayed callback", alice, cb, noCookies, lost)

	// Another browser's callback (login CSRF), and a callback without
	// the login-state cookie.
	victim, attacker := browser(t), browser(t)
	callbackURL(victim)
	stolen := callbackURL(attacker)
	tokens := p.Requests("/token")
	refused("callback without a login-state cookie", browser(t), stolen, noCookies, lost)
	var victimCookies string
	for _, ck := range victim.Jar.Cookies(mustURL(t, gw.URL)) {
		victimCookies += ck.Name + "=" + ck.Value + "; "
	}
	refused("another browser's callback", victim, stolen, map[string]string{"Cookie": victimCookies}, lost)
	if p.Requests("/token") != tokens {
		t.Errorf("callbacks without their login state redeemed %d codes", p.Requests("/token")-tokens)
	}

	// Malformed callbacks at a browser with a login under way.
	c := browser(t)
	good := mustURL(t, callbackURL(c))
	q := good.Query()
	var cookies string
	for _, ck := range c.Jar.Cookies(mustURL(t, gw.URL)) {
		cookies += ck.Name + "=" + ck.Value + "; "
	}
	withCookie := map[string]string{"Cookie": cookies}
	big := strings.Repeat("B", 8000)
	noState := "The sign-in response carries no state."
	for _, tc := range []struct{ name, raw, why string }{
		{"two states", "state=" + url.QueryEscape(q.Get("state")) + "&state=x&code=" + q.Get("code"), "The sign-in response repeats the parameter state."},
		{"two codes", "state=" + url.QueryEscape(q.Get("state")) + "&code=" + q.Get("code") + "&code=x", "The sign-in response repeats the parameter code."},
		{"no state", "code=" + q.Get("code"), noState},
		{"no code", "state=" + url.QueryEscape(q.Get("state")), "The sign-in response carries neither a code nor an error."},
		{"empty", "", noState},
		{"oversized state", "state=" + big + "&code=" + big, lost},
		{"wrong state", "state=" + url.QueryEscape(xssMark) + "&code=" + q.Get("code"), lost},
		{"error with html", "state=" + url.QueryEscape(q.Get("state")) + "&error=" + url.QueryEscape(xssMark) + "&error_description=" + url.QueryEscape(xssMark+"<script>alert(1)</script>") + "&error_uri=" + url.QueryEscape("javascript:alert(1)"),
			"The identity provider refused the sign-in: "},
		{"error and code", "state=" + url.QueryEscape(q.Get("state")) + "&error=access_denied&code=" + q.Get("code"), "The sign-in response carries both a code and an error."},
		{"bad escape", "state=%zz&code=%", noState},
		{"semicolon separators", "state=" + url.QueryEscape(q.Get("state")) + ";code=" + q.Get("code"), noState},
	} {
		refused(tc.name, c, gw.URL+"/oauth2/callback?"+tc.raw, withCookie, tc.why)
	}
	t.Logf("%d callback probes", n)
	if status, body, _ := get(t, browser(t), gw.URL+"/hello"); status != 200 {
		t.Fatalf("a fresh login after the probes: %d %s", status, body)
	}
}
