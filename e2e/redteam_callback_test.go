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
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", "[[routes]]\npath = \"/**\"\n"))
	// callbackURL: the callback of a login the browser c starts, unvisited.
	callbackURL := func(c *http.Client) string { return pausedLogin(t, c, gw, "/oauth2/start?rd=%2Fhello") }
	n := 0
	refused := func(name string, c *http.Client, target string, hdr map[string]string) {
		t.Helper()
		n++
		pr := &probe{method: "GET", target: target, hdr: hdr}
		pr.do(t, c)
		if pr.status < 400 || pr.status > 499 {
			t.Errorf("%s: %d, want a 4xx\n%.300s", name, pr.status, pr.body)
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

	// The honest flow, then its callback replayed by the same browser.
	alice := browser(t)
	cb := callbackURL(alice)
	if status, body, _ := get(t, alice, cb); status != 200 {
		t.Fatalf("honest callback: %d %s", status, body)
	}
	refused("replayed callback", alice, cb, noCookies)

	// Another browser's callback (login CSRF), and a callback without
	// the login-state cookie.
	victim, attacker := browser(t), browser(t)
	callbackURL(victim)
	stolen := callbackURL(attacker)
	tokens := p.Requests("/token")
	refused("callback without a login-state cookie", browser(t), stolen, noCookies)
	var victimCookies string
	for _, ck := range victim.Jar.Cookies(mustURL(t, gw.URL)) {
		victimCookies += ck.Name + "=" + ck.Value + "; "
	}
	refused("another browser's callback", victim, stolen, map[string]string{"Cookie": victimCookies})
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
	for name, raw := range map[string]string{
		"two states":           "state=" + url.QueryEscape(q.Get("state")) + "&state=x&code=" + q.Get("code"),
		"two codes":            "state=" + url.QueryEscape(q.Get("state")) + "&code=" + q.Get("code") + "&code=x",
		"no state":             "code=" + q.Get("code"),
		"no code":              "state=" + url.QueryEscape(q.Get("state")),
		"empty":                "",
		"oversized state":      "state=" + big + "&code=" + big,
		"wrong state":          "state=" + url.QueryEscape(xssMark) + "&code=" + q.Get("code"),
		"error with html":      "state=" + url.QueryEscape(q.Get("state")) + "&error=" + url.QueryEscape(xssMark) + "&error_description=" + url.QueryEscape(xssMark+"<script>alert(1)</script>") + "&error_uri=" + url.QueryEscape("javascript:alert(1)"),
		"error and code":       "state=" + url.QueryEscape(q.Get("state")) + "&error=access_denied&code=" + q.Get("code"),
		"bad escape":           "state=%zz&code=%",
		"semicolon separators": "state=" + url.QueryEscape(q.Get("state")) + ";code=" + q.Get("code"),
	} {
		refused(name, c, gw.URL+"/oauth2/callback?"+raw, withCookie)
	}
	t.Logf("%d callback probes", n)
	if status, body, _ := get(t, browser(t), gw.URL+"/hello"); status != 200 {
		t.Fatalf("a fresh login after the probes: %d %s", status, body)
	}
}
