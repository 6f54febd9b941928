package e2e

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// reloadCrossedTokens: after the reload from old to cur, a token naming
// cur's issuer but signed with old's key, under old's kid or cur's, is
// refused because no key of cur's verifies it: the old provider's keys are
// not kept for the new issuer.
func reloadCrossedTokens(t *testing.T, gw *gateway, client *http.Client, old, cur *oidctest.Provider) {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"iss": cur.Issuer, "sub": "alice", "aud": cur.ClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for _, kid := range []string{old.Key().KID, cur.Key().KID} {
		tok := old.Sign(claims, oidctest.SignOptions{Typ: "at+jwt", KID: kid})
		status, err := apiGet(client, gw.URL+"/app/x", tok)
		if status != 401 || !logged(gw, fmt.Sprintf(`no key verifies the signature (kid \"%s\")`, kid)) {
			t.Errorf("the new issuer's token signed by the old provider under kid %q: %d %v, want 401 for its signature", kid, status, err)
		}
	}
}

// TestReloadChangesTheProviderUnderLoad replaces the provider under steady
// load of its bearer tokens and of a public route. Every request is decided
// wholly by one configuration: the old provider's token is 200 or 401,
// never an error or a 5xx, and the public route always 200. From the
// request after `config reloaded` on, the old provider's token and session
// are refused (401: the docs' "signs everybody out") and the new
// provider's token is accepted; its sign-in works.
func TestReloadChangesTheProviderUnderLoad(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p, p2 := oidctest.New(t, oidctest.Options{}), oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	cfg := func(p *oidctest.Provider) string {
		return tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
			Routes: demoRoutes + "\n[[routes]]\npath = \"/**\"\n"}.String()
	}
	gw := startGateway(t, a, cfg(p))
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	oldSession := sessionCookie(t, c, gw)
	oldToken, newToken := p.AccessToken("alice", nil), p2.AccessToken("alice", nil)

	client := &http.Client{Timeout: 5 * time.Second, Transport: clientTransport}
	load := startSteadyLoad(t, 4, func(worker, _ int) string {
		path, token := "/app/x", oldToken
		if worker%2 == 1 {
			path, token = "/public/x", ""
		}
		status, err := apiGet(client, gw.URL+path, token)
		if err != nil || (status != 200 && (token == "" || status != 401)) {
			return fmt.Sprintf("%s: %d %v", path, status, err)
		}
		return ""
	})
	load.requests(t, 20, 20*time.Second)
	gw.rewrite(t, a, cfg(p2))
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, "provider_changed=true", 1)
	if status, err := apiGet(client, gw.URL+"/app/x", oldToken); status != 401 || !logged(gw, `issuer \"`+p.Issuer+`\" is not trusted`) {
		t.Errorf("the old provider's token after the reload: %d %v, want 401 for its untrusted issuer", status, err)
	}
	reloadCrossedTokens(t, gw, client, p, p2)
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/x", oldSession, false); status != 401 {
		t.Errorf("the old provider's session after the reload: %d, want 401", status)
	}
	if status, err := apiGet(client, gw.URL+"/app/x", newToken); status != 200 {
		t.Errorf("the new provider's token after the reload: %d %v, want 200", status, err)
	}
	load.requests(t, 20, 20*time.Second)
	if sent, failures := load.finish(); len(failures) > 0 {
		t.Errorf("%d of %d requests failed across the reload: %q", len(failures), sent, failures[:min(3, len(failures))])
	}
	loginThrough(t, browser(t), gw, "alice")
	if p2.Requests("/token") != 1 {
		t.Errorf("the new provider redeemed %d codes, want 1", p2.Requests("/token"))
	}
}
