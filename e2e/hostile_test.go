package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// oidctestConfig is a gateway in front of upstreamURL that logs in at the
// test provider p; provider and routes are TOML added to [provider] and
// after the upstream (the routes of the test).
func oidctestConfig(p *oidctest.Provider, upstreamURL, provider, routes string) string {
	return tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + provider,
		Upstream: upstreamURL, Routes: routes}.String()
}

// redirectCounter is a browser that counts the redirects it follows and
// gives up after ten (a loop).
func redirectCounter(tb testing.TB) (*http.Client, *int) {
	c := browser(tb)
	n := new(int)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		*n = len(via)
		if len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}
	return c, n
}

// gatewayCookies returns the names of the gateway's cookies ("portcullis"
// and its chunks and login-state cookies) that the jar holds for u.
func gatewayCookies(c *http.Client, u string) []string {
	pu, _ := url.Parse(u)
	var names []string
	for _, ck := range c.Jar.Cookies(pu) {
		if strings.Contains(strings.ToLower(ck.Name), "portcullis") {
			names = append(names, ck.Name)
		}
	}
	return names
}

// logged waits up to 10 s for the gateway's output (copied from a pipe,
// flushed every 200 ms, later on a loaded machine) to contain s.
func logged(gw *gateway, s string) bool {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if strings.Contains(gw.completeOutput(), s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// nextLogLine waits up to 10 s for a complete line of the gateway's output
// that starts at or after offset from and contains msg, and returns it and
// the offset after it. A test passes that offset to its next call, so that
// each refusal is read from its own line even where two refusals give the
// same reason.
func nextLogLine(tb testing.TB, gw *gateway, from int, msg string) (string, int) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out := gw.Proc.Output()
		for i := from; i < len(out); {
			end := strings.IndexByte(out[i:], '\n')
			if end < 0 {
				break
			}
			if line := out[i : i+end]; strings.Contains(line, msg) {
				return line, i + end + 1
			}
			i += end + 1
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no %q line in the gateway's output after offset %d:\n%s", msg, from, out[min(from, len(out)):])
		}
	}
}

// failedLoginLeftNothing checks what a refused login at the browser c
// leaves: no gateway cookie, no request at up, and why in the gateway's
// next refusal line after offset *from, which it moves past that line (a
// reason logged by an earlier case does not count).
func failedLoginLeftNothing(t *testing.T, c *http.Client, gw *gateway, up *upstream, from *int, why string) {
	t.Helper()
	if names := gatewayCookies(c, gw.URL); len(names) != 0 {
		t.Errorf("gateway cookies after a failed login: %q", names)
	}
	if n := up.count(); n != 0 {
		t.Fatalf("upstream received %d requests", n)
	}
	var line string
	line, *from = nextLogLine(t, gw, *from, "proxy: request refused")
	if !strings.Contains(line, why) {
		t.Errorf("the gateway's refusal does not give the reason %q:\n%s", why, line)
	}
}

// TestHostileProvider logs in through the real gateway at a provider that
// misbehaves in one way per case: every login must end on an error page
// without a session cookie, a redirect loop or an upstream request.
func TestHostileProvider(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", `
[[routes]]
path = "/**"
`))
	faults := []struct {
		name  string
		fault oidctest.Fault
		why   string // in the gateway's log line of the refusal
	}{
		{"wrong issuer", oidctest.FaultWrongIssuer, "evil.example.com"},
		{"wrong audience", oidctest.FaultWrongAudience, "another-client"},
		{"wrong nonce", oidctest.FaultWrongNonce, "nonce does not match"},
		{"no nonce", oidctest.FaultMissingNonce, "nonce does not match"},
		{"expired ID token", oidctest.FaultExpiredIDToken, "token expired"},
		{"bad signature", oidctest.FaultBadSignature, `no key verifies the signature (kid \"` + p.Key().KID + `\")`},
		{"alg none", oidctest.FaultAlgNone, `algorithm \"none\"`},
		{"unknown kid", oidctest.FaultUnknownKID, `kid \"unknown-kid\"`},
		{"HS256 with the public key", oidctest.FaultHS256PublicKey, `algorithm \"HS256\"`},
		{"missing sub", oidctest.FaultMissingSub, "has no sub"},
		{"string iat", oidctest.FaultStringIat, "iat is not a number"},
		{"userinfo for another sub", oidctest.FaultUserinfoOtherSub, "does not match the ID token's"},
		{"bad at_hash", oidctest.FaultBadAtHash, "at_hash"},
		{"no id_token", oidctest.FaultNoIDToken, "no id_token"},
	}
	from := 0
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			p.SetFaults(tc.fault)
			tokens := p.Requests("/token")
			c, redirects := redirectCounter(t)
			status, page, resp := get(t, c, gw.URL+"/private/page")
			if p.Requests("/token") != tokens+1 {
				t.Fatalf("the gateway made %d token requests, want 1 (the login never reached the code exchange?)",
					p.Requests("/token")-tokens)
			}
			if status < 400 || status > 599 {
				t.Errorf("login ended with %d, want an error page\n%s", status, page)
			}
			if resp.Request.URL.Path != "/oauth2/callback" {
				t.Errorf("final page at %s, want the callback's error page", resp.Request.URL)
			}
			if *redirects != 2 {
				t.Errorf("%d redirects, want 2 (gateway -> provider -> callback)", *redirects)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !strings.Contains(page, "Sign-in failed") {
				t.Errorf("not the sign-in error page (Content-Type %q):\n%s", ct, page)
			}
			if strings.Contains(page, "eyJ") {
				t.Errorf("the error page echoes a token:\n%s", page)
			}
			failedLoginLeftNothing(t, c, gw, up, &from, tc.why)
		})
	}

	t.Run("provider error is escaped", func(t *testing.T) {
		p.SetFaults(0)
		c := browser(t)
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		status, _, resp := get(t, c, gw.URL+"/private/page")
		loc, err := url.Parse(resp.Header.Get("Location"))
		if status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), p.Issuer) {
			t.Fatalf("want a 302 to the provider, got %d %q", status, resp.Header.Get("Location"))
		}
		q := url.Values{"state": {loc.Query().Get("state")}, "error": {"<script>alert(1)</script>"}}
		status, page, _ := get(t, c, gw.URL+"/oauth2/callback?"+q.Encode())
		if status != http.StatusForbidden || strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
			t.Errorf("provider error page: %d\n%s", status, page)
		}
		if names := gatewayCookies(c, gw.URL); len(names) != 0 {
			t.Errorf("gateway cookies after a refused login: %q", names)
		}
	})

	// The same provider, honest again, logs the user in: the failures above
	// came from the faults.
	t.Run("honest provider", func(t *testing.T) {
		p.SetFaults(0)
		c, _ := redirectCounter(t)
		status, body, _ := get(t, c, gw.URL+"/private/page")
		if status != http.StatusOK || decodeSeen(t, body).Headers.Get("X-Forwarded-User") != "alice" {
			t.Fatalf("honest login: %d\n%s\ngateway:\n%s", status, body, gw.Proc.Output())
		}
		if names := gatewayCookies(c, gw.URL); len(names) != 1 || names[0] != "portcullis" {
			t.Errorf("gateway cookies after login: %q, want [portcullis]", names)
		}
		// A bad bearer token never falls back to the valid session cookie.
		before := up.count()
		req, _ := http.NewRequest("GET", gw.URL+"/private/page", nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Authorization", "Bearer not-a-token")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || up.count() != before {
			t.Errorf("bad bearer with a session: %d at %s", resp.StatusCode, resp.Request.URL)
		}
	})
}
