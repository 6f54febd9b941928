package e2e

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/nodeop"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestBackchannelAndRPInitiatedLogout runs two replicas on one Redis behind
// node oidc-provider, whose client has replica A as its back-channel logout
// URI. A sign-out at the provider of a session made through B reaches A as
// a logout token and ends the session on B. Then a sign-out through B goes
// through the provider's end_session_endpoint and back to the validated rd.
func TestBackchannelAndRPInitiatedLogout(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	up := newUpstream(t)
	aA, aB := pickAddrs(t), pickAddrs(t)
	op := nodeop.Start(t, nodeop.Options{Clients: []nodeop.Client{{
		ID: "gw", Secret: "gw-secret",
		RedirectURIs:           []string{"http://" + aA.Listen + "/oauth2/callback", "http://" + aB.Listen + "/oauth2/callback"},
		PostLogoutRedirectURIs: []string{"http://" + aA.Listen + "/oauth2/signed_out", "http://" + aB.Listen + "/oauth2/signed_out"},
		BackchannelLogoutURI:   "http://" + aA.Listen + "/oauth2/backchannel_logout",
	}}})
	cfg := redisGatewayConfig(op.Issuer, "gw", "gw-secret", up.URL, redisSession(rs.URL()))
	gwA, gwB := startGateway(t, aA, cfg), startGateway(t, aB, cfg)
	sessions := func() int { return len(rs.Client().Keys(t.Context(), "portcullis:s:*").Val()) }

	c := browser(t)
	nodeLogin(t, op, c, gwB, "dave")
	ck := sessionCookie(t, c, gwB)
	if status, _, _ := withCookie(t, "GET", gwA.URL+"/app/on-a", ck, false); status != 200 {
		t.Fatalf("the session from B on A: %d", status)
	}

	// Sign-out at the provider, not through the gateway.
	resp := op.Logout(t, c, op.EndSessionURL("", "", ""))
	resp.Body.Close()
	if status, body, _ := withCookie(t, "GET", gwB.URL+"/app/after", ck, false); status != http.StatusUnauthorized {
		t.Fatalf("on B after back-channel logout to A: %d, want 401\n%s\nA:\n%s\nprovider:\n%s", status, body, gwA.Proc.Output(), op.Output())
	}
	if !logged(gwA, "back-channel logout") || sessions() != 0 {
		t.Errorf("A did not log the back-channel logout, or %d sessions are left", sessions())
	}

	// RP-initiated logout through B.
	nodeLogin(t, op, c, gwB, "dave")
	stop := &http.Client{Jar: c.Jar, Timeout: 10 * time.Second, Transport: clientTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := stop.Get(gwB.URL + "/oauth2/sign_out?rd=" + url.QueryEscape("/public/bye?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), op.Issuer+"/session/end?") {
		t.Fatalf("sign_out on B: %d to %v", resp.StatusCode, loc)
	}
	q := loc.Query()
	if q.Get("id_token_hint") == "" || q.Get("client_id") != "gw" || len(q.Get("state")) < 16 ||
		q.Get("post_logout_redirect_uri") != gwB.URL+"/oauth2/signed_out" {
		t.Errorf("end-session parameters: id_token_hint set %v, client_id %q, state %q, post_logout_redirect_uri %q",
			q.Get("id_token_hint") != "", q.Get("client_id"), q.Get("state"), q.Get("post_logout_redirect_uri"))
	}
	if sessions() != 0 {
		t.Error("sign-out left the session in Redis")
	}
	resp = op.Logout(t, c, loc.String())
	body := new(strings.Builder)
	_, _ = io.Copy(body, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Host != aB.Listen || resp.Request.URL.Path != "/public/bye" {
		t.Fatalf("after the provider's logout: %d at %s, want B's /public/bye\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	if s := decodeSeen(t, body.String()); s.Query != "x=1" || s.Headers.Get("X-Forwarded-User") != "" {
		t.Errorf("rd target got query %q, user %q", s.Query, s.Headers.Get("X-Forwarded-User"))
	}
	// The post-logout page ignores a state it did not issue (or issued once).
	for _, st := range []string{q.Get("state"), "forged"} {
		resp, err := stop.Get(gwB.URL + "/oauth2/signed_out?state=" + url.QueryEscape(st))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
			t.Errorf("signed_out with a used or unknown state: %d to %q, want /", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// nodeLogin logs c in through gw at node oidc-provider as login.
func nodeLogin(tb testing.TB, op *nodeop.Provider, c *http.Client, gw *gateway, login string) {
	tb.Helper()
	resp := op.Login(tb, c, gw.URL+"/oauth2/start?rd=/app/home", login)
	body := new(strings.Builder)
	_, _ = io.Copy(body, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/app/home" {
		tb.Fatalf("login through %s: %d at %s\n%s\ngateway:\n%s", gw.URL, resp.StatusCode, resp.Request.URL, body, gw.Proc.Output())
	}
	if got := decodeSeen(tb, body.String()).Headers.Get("X-Forwarded-User"); got != login {
		tb.Fatalf("upstream saw %q, want %q", got, login)
	}
}

// postLogout POSTs a logout token and returns status, body and headers.
func postLogout(tb testing.TB, gw *gateway, token string) (int, string, http.Header) {
	tb.Helper()
	resp, err := http.PostForm(gw.URL+"/oauth2/backchannel_logout", url.Values{"logout_token": {token}})
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

// logoutClaims are the claims of a valid logout token (OIDC Back-Channel
// Logout 1.0 §2.4), for tokens that LogoutToken cannot shape.
func logoutClaims(p *oidctest.Provider, sub, sid string) map[string]any {
	return map[string]any{"iss": p.Issuer, "aud": p.ClientID, "iat": time.Now().Unix(), "jti": rand.Text(),
		"sub": sub, "sid": sid, "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}
}

// TestBackchannelLogoutHostileTokens: every malformed, forged or replayed
// logout token is answered 400 with a JSON error, and the session it names
// survives; then a valid one ends it. With the cookie store the endpoint
// answers 501; other methods 405.
func TestBackchannelLogoutHostileTokens(t *testing.T) {
	t.Parallel()
	rs, p, up, gw, _, ck := redisLoggedIn(t, false)

	// A token for another user, accepted once: its replay is a case below.
	replayed := p.LogoutToken("bob", "sid-bob", nil)
	if status, body, _ := postLogout(t, gw, replayed); status != 200 {
		t.Fatalf("a valid logout token for bob: %d %s", status, body)
	}
	_, from := nextLogLine(t, gw, 0, "proxy: back-channel logout")
	unpublished := oidctest.NewUnpublishedKey(t, p.Key().KID, "RS256")
	noKey := `no key verifies the signature (kid \"` + p.Key().KID + `\")`
	claims := func() map[string]any { return logoutClaims(p, "alice", "sid-alice") }
	// why is in the err of the refusal's log line, the only place that
	// tells one refusal from another: every answer is the same 400.
	cases := []struct{ name, token, why string }{
		{"alg none", p.Sign(claims(), oidctest.SignOptions{Alg: "none", Typ: "logout+jwt"}),
			`unexpected signature algorithm \"none\"`},
		{"HS256 with the public key", p.Sign(claims(), oidctest.SignOptions{Alg: "HS256", Typ: "logout+jwt"}),
			`unexpected signature algorithm \"HS256\"`},
		{"bad signature", p.Sign(claims(), oidctest.SignOptions{CorruptSignature: true, Typ: "logout+jwt"}), noKey},
		{"unpublished key with a known kid", p.Sign(claims(), oidctest.SignOptions{Key: unpublished, Typ: "logout+jwt"}), noKey},
		{"wrong aud", p.LogoutToken("alice", "sid-alice", map[string]any{"aud": "another-client"}),
			`expected audience \"` + p.ClientID + `\" got [\"another-client\"]`},
		{"wrong iss", p.LogoutToken("alice", "sid-alice", map[string]any{"iss": "https://evil.example.com"}),
			`issued by a different provider, expected \"` + p.Issuer + `\" got \"https://evil.example.com\"`},
		{"missing events", p.LogoutToken("alice", "sid-alice", map[string]any{"events": nil}),
			"logout token lacks the back-channel logout event"},
		{"other event", p.LogoutToken("alice", "sid-alice", map[string]any{"events": map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}}),
			"logout token lacks the back-channel logout event"},
		{"with nonce", p.LogoutToken("alice", "sid-alice", map[string]any{"nonce": "n-1"}), "logout token must not contain a nonce"},
		{"no jti", p.LogoutToken("alice", "sid-alice", map[string]any{"jti": nil}), "logout token has no jti"},
		{"stale iat", p.LogoutToken("alice", "sid-alice", map[string]any{"iat": time.Now().Add(-24 * time.Hour).Unix()}), "is too old"},
		{"replayed jti", replayed, `already used"`},
		{"neither sub nor sid", p.LogoutToken("", "", nil), "logout token names neither sub nor sid"},
		{"access token typ", p.Sign(claims(), oidctest.SignOptions{Typ: "at+jwt"}), `logout token typ \"at+jwt\"`},
		{"an ID token", p.IDToken("alice", "", ""), "logout token lacks the back-channel logout event"},
		{"not a JWT", "not.a.jwt", "a segment is not canonical base64url"},
	}
	for _, tc := range cases {
		status, body, hdr := postLogout(t, gw, tc.token)
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if status != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || e.Error != "invalid_request" ||
			e.Description != "the logout token is not valid" || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %q %s, want 400 invalid_request and no-store", tc.name, status, hdr.Get("Cache-Control"), body)
		}
		var line string
		line, from = nextLogLine(t, gw, from, "proxy: request refused")
		if !strings.Contains(line, tc.why) {
			t.Errorf("%s: refused for another reason than %q:\n%s", tc.name, tc.why, line)
		}
		if strings.Contains(body, tc.token) || strings.Contains(line, tc.token) {
			t.Errorf("%s: the answer or the log echoes the token", tc.name)
		}
		if status, _, _ := withCookie(t, "GET", gw.URL+"/app/still", ck, false); status != 200 {
			t.Fatalf("%s: the session did not survive: %d", tc.name, status)
		}
	}

	if status, _, hdr := withCookie(t, "GET", gw.URL+"/oauth2/backchannel_logout", nil, false); status != http.StatusMethodNotAllowed || hdr.Get("Allow") != "POST" {
		t.Errorf("GET backchannel_logout: %d Allow %q, want 405 POST", status, hdr.Get("Allow"))
	}
	// A replica sharing the Redis refuses the jti the first one accepted.
	gw2 := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL())))
	if status, body, _ := postLogout(t, gw2, replayed); status != http.StatusBadRequest {
		t.Errorf("a jti replayed to another replica: %d %s, want 400", status, body)
	}
	if line, _ := nextLogLine(t, gw2, 0, "proxy: request refused"); !strings.Contains(line, `already used on another replica"`) {
		t.Errorf("a jti replayed to another replica was refused for another reason:\n%s", line)
	}
	// The oracle: a valid token for alice's provider session ends it.
	if status, body, _ := postLogout(t, gw, p.LogoutToken("", "sid-alice", nil)); status != 200 {
		t.Fatalf("a valid logout token: %d %s", status, body)
	}
	if status, _, _ := withCookie(t, "GET", gw.URL+"/app/gone", ck, false); status != http.StatusUnauthorized {
		t.Errorf("after a valid logout token: %d, want 401", status)
	}

	cookieGW := startGateway(t, pickAddrs(t), redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, `store = "cookie"`))
	status, body, _ := postLogout(t, cookieGW, p.LogoutToken("alice", "sid-alice", nil))
	var e struct{ Error string }
	if status != http.StatusNotImplemented || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
		t.Errorf("cookie store: %d %s, want 501 with a JSON error", status, body)
	}
	if status, _, _ := withCookie(t, "GET", cookieGW.URL+"/oauth2/backchannel_logout", nil, false); status != http.StatusMethodNotAllowed {
		t.Errorf("cookie store, GET: %d, want 405", status)
	}
}

// TestBackchannelLogoutWithEmailUserClaim: with user_claim = "email" the
// gateway's user is the email, yet a logout token naming the provider's sub
// ends the session, and so does one naming its sid; no Redis key name or
// index member holds the email, the sub or the sid.
func TestBackchannelLogoutWithEmailUserClaim(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "00u7f3alice", Claims: map[string]any{
		"email": "alice@corp.example", "email_verified": true, "sid": "op-sid-4711",
	}}})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret) + "user_claim = \"email\"\n",
		Session:  redisSession(rs.URL()), Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\n",
	}.String())
	rc := rs.Client()

	for _, tc := range []struct{ name, sub, sid string }{
		{"by sub", "00u7f3alice", ""},
		{"by sid", "", "op-sid-4711"},
	} {
		c := browser(t)
		loginThrough(t, c, gw, "alice@corp.example")
		ck := sessionCookie(t, c, gw)

		var dump strings.Builder
		iter := rc.Scan(t.Context(), 0, "*", 100).Iterator()
		for iter.Next(t.Context()) {
			k := iter.Val()
			dump.WriteString(k + "\n")
			if rc.Type(t.Context(), k).Val() == "set" {
				dump.WriteString(strings.Join(rc.SMembers(t.Context(), k).Val(), "\n") + "\n")
			}
		}
		for _, personal := range []string{"alice", "corp.example", "00u7f3", "op-sid-4711"} {
			if strings.Contains(dump.String(), personal) {
				t.Errorf("%s: a Redis key name or index member holds %q:\n%s", tc.name, personal, dump.String())
			}
		}

		if status, body, _ := postLogout(t, gw, p.LogoutToken(tc.sub, tc.sid, nil)); status != 200 {
			t.Fatalf("%s: logout token: %d %s", tc.name, status, body)
		}
		if status, _, _ := withCookie(t, "GET", gw.URL+"/app/after", ck, false); status != http.StatusUnauthorized {
			t.Errorf("%s: the session survived the back-channel logout: %d, want 401\n%s", tc.name, status, gw.Proc.Output())
		}
		if n := len(rc.Keys(t.Context(), "portcullis:s:*").Val()); n != 0 {
			t.Errorf("%s: %d session keys left", tc.name, n)
		}
	}
}
