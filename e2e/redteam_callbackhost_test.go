package e2e

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamForwardedHostNeverNamesTheCallback: Keycloak Gatekeeper
// (enable-x-forwarded-headers) and caddy-security built the sign-in's
// redirect URI and return URL from X-Forwarded-Host, so one spoofed
// header, or a front proxy that passed the client's on, had the provider
// send the authorization code to the attacker's host. Here a trusted
// front proxy passes X-Forwarded-Host, Forwarded and X-Forwarded-Proto
// naming evil.test: every redirect the gateway answers stays on its own
// origin or goes to the provider, and every authorization request names
// public_url's callback.
func TestRedTeamForwardedHostNeverNamesTheCallback(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), tomlConfig{Server: "trusted_proxies = [\"127.0.0.1\"]\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: newUpstream(t).URL,
		Routes: demoRoutes + "\n[[routes]]\npath = \"/**\"\n"}.String())
	spoofs := []map[string]string{
		{"X-Forwarded-Host": "evil.test"},
		{"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
		{"Forwarded": "host=evil.test;proto=https"},
		{"X-Forwarded-Host": strings.TrimPrefix(gw.URL, "http://") + ", evil.test"},
		{"X-Forwarded-Host": "evil.test", "X-Original-Host": "evil.test", "X-Host": "evil.test"},
	}
	callback := gw.URL + "/oauth2/callback"
	atProvider := 0
	for _, spoof := range spoofs {
		for _, target := range []string{"/hello", "/admin/x", "/oauth2/start?rd=%2Fhello", "/oauth2/sign_out"} {
			// The spoof on the first request only (a browser then follows
			// to public_url through an honest path), and on every request.
			for _, always := range []bool{false, true} {
				if followSpoofed(t, gw.URL+target, spoof, always, p.Issuer, callback) {
					atProvider++
				}
			}
		}
	}
	// Each spoof sent once reaches the provider from /hello, /admin/x and
	// start: 15 authorization requests at least.
	if atProvider < 3*len(spoofs) {
		t.Errorf("%d authorization requests checked, want at least %d", atProvider, 3*len(spoofs))
	}
}

// followSpoofed follows the gateway's redirects from target, at most 5,
// sending spoof with the first request (every one when always): each must
// stay on the gateway's origin or go to the provider's authorization
// endpoint with callback as its redirect_uri. It reports whether it got
// to the provider.
func followSpoofed(t *testing.T, target string, spoof map[string]string, always bool, issuer, callback string) bool {
	t.Helper()
	origin := strings.TrimSuffix(callback, "/oauth2/callback")
	next, hdr := target, spoof
	for hops := 0; next != "" && hops < 5; hops++ {
		status, h, _ := plainNavigate(t, next, hdr)
		if !always {
			hdr = nil
		}
		loc := h.Get("Location")
		u, err := url.Parse(loc)
		switch {
		case loc == "" || err != nil:
			return false
		case strings.HasPrefix(loc, issuer+"/"):
			if got := u.Query().Get("redirect_uri"); got != callback {
				t.Errorf("GET %s with %v (always %v): the authorization request's redirect_uri is %q, want %q",
					target, spoof, always, got, callback)
			}
			return true
		}
		next = mustURL(t, next).ResolveReference(u).String()
		if !strings.HasPrefix(next, origin+"/") {
			t.Errorf("GET %s with %v (always %v): %d to %q, off the gateway", target, spoof, always, status, loc)
			return false
		}
	}
	return false
}

// plainNavigate is a browser's GET of target without cookies, with the headers
// hdr, not following redirects.
func plainNavigate(t *testing.T, target string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", target, nil)
	req.Header.Set("Accept", "text/html")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{Transport: clientTransport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}
