package demo

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// identityClaims are the claims the gateway reads from ID tokens and userinfo.
type identityClaims struct {
	Sub               string   `json:"sub"`
	Email             string   `json:"email"`
	EmailVerified     *bool    `json:"email_verified"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	Scope             string   `json:"scope"`
}

func (c identityClaims) check(t *testing.T, where string, u User) {
	t.Helper()
	if c.Sub != u.Name || c.Email != u.Email || c.EmailVerified == nil || *c.EmailVerified != u.EmailVerified ||
		c.PreferredUsername != u.Name || c.Name != u.DisplayName || !slices.Equal(c.Groups, u.Groups) {
		t.Errorf("%s claims %+v (email_verified %v), want those of %+v", where, c, c.EmailVerified, u)
	}
}

func TestLoginCodeFlowWithPKCE(t *testing.T) {
	w := mustStart(t)
	for _, name := range []string{"alice", "bob"} {
		t.Run(name, func(t *testing.T) {
			u := w.user(t, name)
			tok, a := w.login(t, name)

			raw, _ := tok.Extra("id_token").(string)
			idt, err := w.provider.Verifier(&oidc.Config{ClientID: w.env.ClientID}).Verify(w.ctx, raw)
			if err != nil {
				t.Fatalf("verify ID token: %v", err)
			}
			if idt.Nonce != a.nonce {
				t.Errorf("ID token nonce %q, want %q", idt.Nonce, a.nonce)
			}
			var idClaims identityClaims
			if err := idt.Claims(&idClaims); err != nil {
				t.Fatal(err)
			}
			idClaims.check(t, "ID token", u)

			info, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var uiClaims identityClaims
			if err := info.Claims(&uiClaims); err != nil {
				t.Fatal(err)
			}
			uiClaims.check(t, "userinfo", u)

			// Access tokens are JWTs with aud = client id, scope and groups.
			at, err := w.provider.Verifier(&oidc.Config{ClientID: w.env.ClientID}).Verify(w.ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("verify access token as JWT: %v", err)
			}
			var atClaims identityClaims
			if err := at.Claims(&atClaims); err != nil {
				t.Fatal(err)
			}
			if atClaims.Sub != u.Name || atClaims.Scope != "openid email profile groups offline_access" ||
				!slices.Equal(atClaims.Groups, u.Groups) || atClaims.Email != u.Email {
				t.Errorf("access token claims %+v", atClaims)
			}
			if tok.RefreshToken == "" {
				t.Error("no refresh token for offline_access")
			}
		})
	}
}

func TestLoginRefusesBadCredentials(t *testing.T) {
	w := mustStart(t)
	alice, bob := w.user(t, "alice"), w.user(t, "bob")
	tests := []struct{ name, user, password string }{
		{"wrong password", "alice", "not-the-password"},
		{"other user's password", "alice", bob.Password},
		{"unknown user", "mallory", alice.Password},
		{"empty password", "alice", ""},
		{"case-changed password", "alice", strings.ToLower(alice.Password)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := w.startLogin(t)
			resp, body := w.submit(t, a, tt.user, tt.password)
			if resp.StatusCode != http.StatusUnauthorized || resp.Request.URL.Path != loginPath {
				t.Errorf("got %d at %s, want 401 on the login page", resp.StatusCode, resp.Request.URL)
			}
			if !strings.Contains(body, "Wrong username or password.") || !strings.Contains(body, `value="`+a.requestID+`"`) {
				t.Errorf("page lacks the error or the form:\n%s", body)
			}
			// The request is still not done: the callback issues no code.
			resp, err := a.client.Get(w.env.IssuerURL + "/authorize/callback?id=" + url.QueryEscape(a.requestID))
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			if q := resp.Request.URL.Query(); q.Get("code") != "" {
				t.Errorf("callback issued a code after a failed login: %v", q)
			}
		})
	}
	w.rp.mu.Lock()
	defer w.rp.mu.Unlock()
	for _, q := range w.rp.callbacks {
		if q.Get("code") != "" || q.Get("error") == "" {
			t.Errorf("relying party received %v, want only errors", q)
		}
	}
}

func TestLoginPageEscapesAndRejectsUnknownRequest(t *testing.T) {
	w := mustStart(t)
	a := w.startLogin(t)
	_, body := w.submit(t, a, `"><script>alert(1)</script>`, "x")
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("username not escaped:\n%s", body)
	}
	if !strings.Contains(body, "<code>alice</code>") || !strings.Contains(body, "<code>bob</code>") {
		t.Errorf("login page does not list the demo users:\n%s", body)
	}
	for _, target := range []string{loginPath + "?authRequestID=unknown", loginPath} {
		resp, err := browser(t).Get(w.env.IssuerURL + target)
		if err != nil {
			t.Fatal(err)
		}
		if b := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || strings.Contains(b, "<form") {
			t.Errorf("GET %s: %d, want 400 without a form", target, resp.StatusCode)
		}
	}
	resp, body := w.submit(t, &loginAttempt{requestID: "forged", client: browser(t)}, "alice", w.user(t, "alice").Password)
	if resp.StatusCode != http.StatusBadRequest || w.rp.callbackCount() != 0 {
		t.Errorf("POST with a forged request id: %d, callbacks %d:\n%s", resp.StatusCode, w.rp.callbackCount(), body)
	}
}

func TestAuthorizationRequiresPKCES256(t *testing.T) {
	w := mustStart(t)
	tests := []struct {
		name string
		opts []oauth2.AuthCodeOption
	}{
		{"no challenge", nil},
		{"plain method", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := browser(t).Get(w.oauth.AuthCodeURL("st", tt.opts...))
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			q := resp.Request.URL.Query()
			if resp.Request.URL.Path != "/oauth2/callback" || q.Get("error") != "invalid_request" || q.Get("code") != "" {
				t.Errorf("ended at %s, want an invalid_request error at the callback", resp.Request.URL)
			}
		})
	}
}

func TestCodeIsSingleUseAndBoundToVerifier(t *testing.T) {
	w := mustStart(t)
	name := "alice"
	a := w.startLogin(t)
	resp, _ := w.submit(t, a, name, w.user(t, name).Password)
	code := resp.Request.URL.Query().Get("code")
	if _, err := w.oauth.Exchange(w.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Error("exchange with a wrong PKCE verifier succeeded")
	}
	if _, err := w.oauth.Exchange(w.ctx, code, oauth2.VerifierOption(a.verifier)); err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := w.oauth.Exchange(w.ctx, code, oauth2.VerifierOption(a.verifier)); err == nil {
		t.Error("second exchange of the same code succeeded")
	}
}

func TestRefreshTokenRotates(t *testing.T) {
	w := mustStart(t)
	tok, _ := w.login(t, "alice")
	fresh, err := w.oauth.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh grant: %v", err)
	}
	if fresh.AccessToken == "" || fresh.AccessToken == tok.AccessToken ||
		fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not return a new access token and a rotated refresh token")
	}
	raw, _ := fresh.Extra("id_token").(string)
	idt, err := w.provider.Verifier(&oidc.Config{ClientID: w.env.ClientID}).Verify(w.ctx, raw)
	if err != nil || idt.Subject != "alice" {
		t.Errorf("refreshed ID token: %v, sub %v", err, idt)
	}
	if _, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(fresh)); err != nil {
		t.Errorf("userinfo with the refreshed token: %v", err)
	}
	// The old access token was replaced; the old refresh token is spent.
	if _, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo accepted the access token replaced by the refresh")
	}
	_, err = w.oauth.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("replayed refresh token: %v, want invalid_grant", err)
	}
}

func TestAccessTokenExpiresOnTheClock(t *testing.T) {
	w := mustStart(t)
	tok, _ := w.login(t, "bob")
	if _, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	w.clock.advance(defaultAccessTokenLifetime + time.Second)
	if _, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo accepted an access token past its lifetime")
	}
	if _, err := w.oauth.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh after access-token expiry: %v", err)
	}
}

// discovery is the part of the provider metadata the gateway relies on.
type discovery struct {
	EndSession        string   `json:"end_session_endpoint"`
	Revocation        string   `json:"revocation_endpoint"`
	Introspection     string   `json:"introspection_endpoint"`
	Userinfo          string   `json:"userinfo_endpoint"`
	JWKS              string   `json:"jwks_uri"`
	ChallengeMethods  []string `json:"code_challenge_methods_supported"`
	Scopes            []string `json:"scopes_supported"`
	Claims            []string `json:"claims_supported"`
	GrantTypes        []string `json:"grant_types_supported"`
	IDTokenAlgorithms []string `json:"id_token_signing_alg_values_supported"`
}

func (w *testWorld) discovery(t *testing.T) discovery {
	t.Helper()
	var d discovery
	if err := w.provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDiscovery(t *testing.T) {
	w := mustStart(t)
	d := w.discovery(t)
	for name, ep := range map[string]string{"end_session": d.EndSession, "revocation": d.Revocation,
		"introspection": d.Introspection, "userinfo": d.Userinfo, "jwks": d.JWKS} {
		if !strings.HasPrefix(ep, w.env.IssuerURL+"/") {
			t.Errorf("%s endpoint %q not under the issuer", name, ep)
		}
	}
	checks := []struct {
		name string
		list []string
		want string
	}{
		{"code_challenge_methods_supported", d.ChallengeMethods, "S256"},
		{"scopes_supported", d.Scopes, "groups"},
		{"scopes_supported", d.Scopes, "offline_access"},
		{"claims_supported", d.Claims, "groups"},
		{"grant_types_supported", d.GrantTypes, "refresh_token"},
		{"id_token_signing_alg_values_supported", d.IDTokenAlgorithms, "RS256"},
	}
	for _, c := range checks {
		if !slices.Contains(c.list, c.want) {
			t.Errorf("%s %v lacks %q", c.name, c.list, c.want)
		}
	}
}

func TestEndSession(t *testing.T) {
	w := mustStart(t)
	tok, _ := w.login(t, "alice")
	raw, _ := tok.Extra("id_token").(string)
	endSession := w.discovery(t).EndSession
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(q url.Values) *http.Response {
		t.Helper()
		resp, err := noFollow.Get(endSession + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		return resp
	}

	resp := get(url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://evil.example/"},
		"state": {"s1"}, "client_id": {w.env.ClientID}})
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "evil.example") {
		t.Errorf("unregistered post_logout_redirect_uri honoured: %s", loc)
	}

	signedOut := w.rp.srv.URL + "/oauth2/signed_out"
	resp = get(url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {signedOut},
		"state": {"s2"}, "client_id": {w.env.ClientID}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != signedOut+"?state=s2" {
		t.Errorf("end_session: %d to %q, want 302 to %s?state=s2", resp.StatusCode, resp.Header.Get("Location"), signedOut)
	}
	// The session's tokens are gone.
	if _, err := w.provider.UserInfo(w.ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("userinfo accepted an access token after end_session")
	}
	if _, err := w.oauth.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("refresh token still works after end_session")
	}

	resp = get(url.Values{})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != signedOutPath {
		t.Errorf("end_session without parameters: %d to %q, want the provider's signed-out page", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// postClient posts form to endpoint with the client's basic credentials.
func (w *testWorld) postClient(t *testing.T, endpoint string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(w.env.ClientID), url.QueryEscape(w.env.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestIntrospectionAndRevocation(t *testing.T) {
	w := mustStart(t)
	tok, _ := w.login(t, "alice")
	d := w.discovery(t)
	introspect := func() map[string]any {
		t.Helper()
		resp := w.postClient(t, d.Introspection, url.Values{"token": {tok.AccessToken}})
		var out map[string]any
		if err := json.Unmarshal([]byte(readBody(t, resp)), &out); err != nil {
			t.Fatalf("introspection answer: %v", err)
		}
		return out
	}
	got := introspect()
	if got["active"] != true || got["sub"] != "alice" || got["client_id"] != w.env.ClientID ||
		got["scope"] != "openid email profile groups offline_access" {
		t.Errorf("introspection %v", got)
	}
	if g, _ := got["groups"].([]any); len(g) != 1 || g[0] != "admins" {
		t.Errorf("introspection groups %v", got["groups"])
	}

	resp := w.postClient(t, d.Revocation, url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
	if readBody(t, resp); resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %d", resp.StatusCode)
	}
	if _, err := w.oauth.TokenSource(w.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("revoked refresh token still works")
	}
	if got := introspect(); got["active"] != false {
		t.Errorf("access token issued with the revoked refresh token still active: %v", got)
	}
}
