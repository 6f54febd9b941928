package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// recorder is where a hostile provider's redirect points; it counts what
// reaches it (a followed redirect would deliver the code, the PKCE verifier
// or a token there).
func recorder(tb testing.TB) (*httptest.Server, *atomic.Int32) {
	n := new(atomic.Int32)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"x","token_type":"Bearer","keys":[],"active":true}`))
	}))
	tb.Cleanup(s.Close)
	return s, n
}

// TestHostileProviderBackChannel logs in through the real gateway at a
// provider whose back channel misbehaves: a token endpoint that redirects
// (307 and 308) to another server, a token_type other than Bearer, an ID
// token issued long before the callback, a claim bound for a header that a
// header cannot carry (tab, LF). Every login ends on the 502
// sign-in error page with the reason in the log, no session, nothing
// upstream, and nothing sent to the redirect's target.
func TestHostileProviderBackChannel(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	sink, sunk := recorder(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.URL,
		Extra: "[headers]\nclaims = { \"X-Tenant\" = \"tenant\" }\n", Routes: "[[routes]]\npath = \"/**\"\n",
	}.String())
	user := func(claims map[string]any) func() {
		return func() { p.SetUser(oidctest.User{Subject: "alice", Claims: claims}) }
	}
	cases := []struct {
		name string
		set  func()
		why  string // in the gateway's log line of the refusal
	}{
		{"token endpoint 307", func() { p.SetRedirect("/token", http.StatusTemporaryRedirect, sink.URL+"/token") },
			"back-channel calls never follow"},
		{"token endpoint 308", func() { p.SetRedirect("/token", http.StatusPermanentRedirect, sink.URL+"/token") },
			"back-channel calls never follow"},
		{"token_type mac", func() { p.SetTokenType("mac") }, `token_type \"mac\" is not Bearer`},
		{"token_type DPoP", func() { p.SetTokenType("DPoP") }, `token_type \"DPoP\" is not Bearer`},
		{"ID token 10 minutes old", func() { p.SetIDTokenAge(10 * time.Minute) }, "a replayed or stale token"},
		// RFC 6749 Appendix A.12: a session (JSON) would keep it changed.
		{"access_token not ASCII", func() { p.SetTokenField("access_token", `"at\u00e9"`) },
			"access_token has the character 0xc3 at offset 2"},
		// One header rule (idp.HeaderValue), applied at the callback.
		{"tab in a header claim", user(map[string]any{"tenant": "t1\tt2"}), "claim tenant cannot be forwarded"},
		{"LF in email", user(map[string]any{"email": "a@example.com\nX-Injected: 1"}), "claim email cannot be forwarded"},
	}
	from := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.set()
			defer func() {
				p.SetRedirect("/token", 0, "")
				p.SetTokenType("Bearer")
				p.SetIDTokenAge(0)
				p.SetTokenField("access_token", "")
				p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com",
					"email_verified": true, "tenant": "Zoë"}})
			}()
			tokens := p.Requests("/token")
			c, _ := redirectCounter(t)
			status, page, resp := get(t, c, gw.URL+"/private/page")
			if p.Requests("/token") != tokens+1 {
				t.Fatalf("the gateway made %d token requests, want 1", p.Requests("/token")-tokens)
			}
			if status != http.StatusBadGateway || resp.Request.URL.Path != "/oauth2/callback" ||
				!strings.Contains(page, "Sign-in failed") {
				t.Errorf("login ended with %d at %s, want the 502 sign-in error page\n%s", status, resp.Request.URL, page)
			}
			if n := sunk.Load(); n != 0 {
				t.Fatalf("the redirect's target received %d requests", n)
			}
			failedLoginLeftNothing(t, c, gw, up, &from, tc.why)
		})
	}
	t.Run("honest again", func(t *testing.T) {
		c, _ := redirectCounter(t)
		status, body, _ := get(t, c, gw.URL+"/private/page")
		h := decodeSeen(t, body).Headers
		if status != http.StatusOK || h.Get("X-Forwarded-User") != "alice" || h.Get("X-Tenant") != "Zoë" {
			t.Fatalf("honest login: %d\n%s", status, body)
		}
	})
}

// TestHostileProviderBackChannelBearer: a bearer check whose JWKS or
// introspection endpoint redirects fails closed (401 for the JWT, 503 for
// the opaque token, as when the provider cannot be asked), and the
// redirect's target receives nothing.
func TestHostileProviderBackChannelBearer(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	sink, sunk := recorder(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, up.URL, "", `
[[routes]]
path = "/**"
`))
	p.SetRedirect("/jwks", http.StatusTemporaryRedirect, sink.URL+"/jwks")
	p.SetRedirect("/introspect", http.StatusTemporaryRedirect, sink.URL+"/introspect")
	for _, tc := range []struct {
		name   string
		token  string
		status int
	}{
		{"JWT, JWKS redirects", p.AccessToken("alice", nil), http.StatusUnauthorized},
		{"opaque, introspection redirects", p.OpaqueToken("alice", p.ClientID, "", time.Now().Add(time.Hour)),
			http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", gw.URL+"/api/x", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			resp, err := plainClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if n := sunk.Load(); n != 0 || up.count() != 0 {
				t.Fatalf("the redirect's target received %d requests, the upstream %d", n, up.count())
			}
		})
	}
	// Both refusals say why: the JWKS fetch and the introspection call.
	if !logged(gw, "(307 from "+p.Issuer+"/jwks)") || !logged(gw, "(307 from "+p.Issuer+"/introspect)") {
		t.Errorf("the gateway's log does not say why:\n%s", gw.Proc.Output())
	}
}
