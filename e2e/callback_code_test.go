package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestCallbackWithRefusedCodeIs400: a callback whose state and login-state
// cookie are the browser's own but whose code the provider refuses
// (invalid_grant: made up, expired, or already redeemed by a copy of the
// callback on another replica) is an unknown or replayed callback, a 400
// sign-in error page; 502 is for a provider whose answer is invalid. It was
// a 502, so anyone could make the gateway report a failing provider at will.
func TestCallbackWithRefusedCodeIs400(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Routes: "[[routes]]\npath = \"/**\"\n",
	}.String())
	c := browser(t)
	var callback *url.URL
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/oauth2/callback" {
			callback = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	// Two logins under way, as in two tabs: each has its state and code.
	login := func() *url.URL {
		callback = nil
		get(t, c, gw.URL+"/private/page")
		if callback == nil || callback.Query().Get("code") == "" {
			t.Fatalf("the provider did not send the browser back with a code")
		}
		return callback
	}
	a, b := login(), login()
	cases := []struct{ name, state, code string }{
		{"another login's code", a.Query().Get("state"), b.Query().Get("code")},
		{"a made-up code", b.Query().Get("state"), "made-up"},
	}
	for _, tc := range cases {
		u := *a
		u.RawQuery = url.Values{"code": {tc.code}, "state": {tc.state}}.Encode()
		tokens := p.Requests("/token")
		status, page, _ := get(t, c, u.String())
		if p.Requests("/token") != tokens+1 {
			t.Fatalf("%s: %d token requests, want 1", tc.name, p.Requests("/token")-tokens)
		}
		if status != http.StatusBadRequest || !strings.Contains(page, "unknown, expired or was already used") {
			t.Errorf("%s: %d, want the 400 sign-in error page\n%s", tc.name, status, page)
		}
		for _, name := range gatewayCookies(c, gw.URL) {
			if name == "portcullis" {
				t.Errorf("%s: a session cookie after a refused code", tc.name)
			}
		}
	}
	if n := up.count(); n != 0 {
		t.Fatalf("upstream received %d requests", n)
	}
}
