package nodeop

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

var resourceScopes = []string{"dashboards:read", "dashboards:write"}

// relyingParty plays the client's redirect and post-logout pages.
func relyingParty(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || (r.URL.Path != "/cb" && r.URL.Path != "/out") {
			t.Errorf("relying party got %s %s", r.Method, r.URL.Path)
			http.Error(w, "unexpected", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte("rp " + r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func verifier(t *testing.T, p *Provider, audience string) *oidc.IDTokenVerifier {
	t.Helper()
	op, err := oidc.NewProvider(t.Context(), p.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return op.Verifier(&oidc.Config{ClientID: audience})
}

type accessClaims struct {
	Scope    string   `json:"scope"`
	ClientID string   `json:"client_id"`
	Email    string   `json:"email"`
	Groups   []string `json:"groups"`
	IssuedAt int64    `json:"iat"`
	Expiry   int64    `json:"exp"`
}

func verifyAccessToken(t *testing.T, p *Provider, raw string) accessClaims {
	t.Helper()
	tok, err := verifier(t, p, "portcullis").Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	var c accessClaims
	if err := tok.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{Resource: "portcullis", Scopes: resourceScopes})
	resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key string
		want      any
	}{
		{"issuer", "issuer", p.Issuer},
		{"end session", "end_session_endpoint", p.Issuer + "/session/end"},
		{"introspection", "introspection_endpoint", p.Issuer + "/token/introspection"},
		{"revocation", "revocation_endpoint", p.Issuer + "/token/revocation"},
		{"back-channel logout", "backchannel_logout_supported", true},
		{"back-channel logout sid", "backchannel_logout_session_supported", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if doc[tc.key] != tc.want {
				t.Errorf("%s = %v, want %v", tc.key, doc[tc.key], tc.want)
			}
		})
	}
	if p.ResourceIndicator != "urn:portcullis" {
		t.Errorf("ResourceIndicator = %q", p.ResourceIndicator)
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	p := Start(t, Options{
		Clients:  []Client{{ID: "svc", Secret: "svc-secret"}},
		Resource: "portcullis", Scopes: resourceScopes, AccessTokenTTL: 5 * time.Second,
	})
	for _, tc := range []struct {
		name      string
		scopes    []string
		wantScope string
	}{
		{"one scope", []string{"dashboards:read"}, "dashboards:read"},
		{"two scopes", resourceScopes, "dashboards:read dashboards:write"},
		{"unknown scope dropped", []string{"dashboards:delete", "dashboards:read"}, "dashboards:read"},
		{"no scope", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := verifyAccessToken(t, p, p.ClientCredentialsToken(t, "svc", "svc-secret", tc.scopes))
			if c.Scope != tc.wantScope {
				t.Errorf("scope = %q, want %q", c.Scope, tc.wantScope)
			}
			if c.ClientID != "svc" || c.Expiry-c.IssuedAt != 5 {
				t.Errorf("client_id %q, lifetime %d s; want svc, 5 s", c.ClientID, c.Expiry-c.IssuedAt)
			}
		})
	}
	for _, tc := range []struct {
		name, secret, resource, wantErr string
	}{
		{"wrong secret", "nope", p.ResourceIndicator, "invalid_client"},
		{"unknown resource", "svc-secret", "urn:elsewhere", "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: "svc", ClientSecret: tc.secret, TokenURL: p.Endpoint().TokenURL,
				AuthStyle: oauth2.AuthStyleInHeader, EndpointParams: url.Values{"resource": {tc.resource}},
			}
			_, err := cfg.Token(t.Context())
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != tc.wantErr {
				t.Errorf("err = %v, want %s", err, tc.wantErr)
			}
		})
	}
}

type idClaims struct {
	Sub           string   `json:"sub"`
	Sid           string   `json:"sid"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Groups        []string `json:"groups"`
}

// codeLogin runs the authorization code flow with PKCE through Login and
// returns the exchanged token and the verified ID token's claims.
func codeLogin(t *testing.T, p *Provider, cfg *oauth2.Config, c *http.Client, login string, extra ...oauth2.AuthCodeOption) (*oauth2.Token, idClaims) {
	t.Helper()
	pkce, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce)}, extra...)
	resp := p.Login(t, c, cfg.AuthCodeURL(state, opts...), login)
	resp.Body.Close()
	q := resp.Request.URL.Query()
	if resp.Request.URL.Path != "/cb" || q.Get("state") != state || q.Get("code") == "" || q.Get("iss") != p.Issuer {
		t.Fatalf("login ended at %s (error %q), want the callback with state, code and iss",
			resp.Request.URL.Path, q.Get("error"))
	}
	tok, err := cfg.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	idt, err := verifier(t, p, cfg.ClientID).Verify(t.Context(), tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != nonce {
		t.Fatalf("id token: %v (nonce match %v)", err, err == nil && idt.Nonce == nonce)
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	return tok, claims
}

func TestLogin(t *testing.T) {
	t.Parallel()
	rp := relyingParty(t)
	p := Start(t, Options{
		Clients:  []Client{{ID: "web", Secret: "web-secret", RedirectURIs: []string{rp.URL + "/cb"}}},
		Resource: "portcullis", Scopes: resourceScopes,
	})
	cfg := &oauth2.Config{
		ClientID: "web", ClientSecret: "web-secret", Endpoint: p.Endpoint(), RedirectURL: rp.URL + "/cb",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", "dashboards:read"},
	}
	for _, tc := range []struct{ login, group string }{{"admin-alice", "admins"}, {"bob", "staff"}} {
		t.Run(tc.login, func(t *testing.T) {
			tok, id := codeLogin(t, p, cfg, browser(t), tc.login, oauth2.SetAuthURLParam("resource", p.ResourceIndicator))
			if id.Sub != tc.login || id.Email != tc.login+"@example.com" || !id.EmailVerified ||
				!slices.Equal(id.Groups, []string{tc.group}) {
				t.Errorf("id token claims = %+v", id)
			}
			at := verifyAccessToken(t, p, tok.AccessToken)
			if at.Scope != "dashboards:read" || !slices.Equal(at.Groups, []string{tc.group}) {
				t.Errorf("access token scope %q groups %q", at.Scope, at.Groups)
			}
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			refreshed, err := cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if at := verifyAccessToken(t, p, refreshed.AccessToken); at.Scope != "dashboards:read" {
				t.Errorf("refreshed access token scope %q", at.Scope)
			}
			revoke(t, p, "web", "web-secret", refreshed.RefreshToken)
			_, err = cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token()
			if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
				t.Errorf("refresh after revocation: %v, want invalid_grant", err)
			}
		})
	}
	t.Run("without PKCE", func(t *testing.T) {
		resp := p.Login(t, browser(t), cfg.AuthCodeURL("st"), "bob")
		resp.Body.Close()
		q := resp.Request.URL.Query()
		if resp.Request.URL.Path != "/cb" || q.Get("error") != "invalid_request" || q.Get("code") != "" {
			t.Errorf("ended at %s error %q, want the callback with invalid_request", resp.Request.URL.Path, q.Get("error"))
		}
	})
}

// revoke revokes a token with RFC 7009.
func revoke(t *testing.T, p *Provider, id, secret, token string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.Issuer+"/token/revocation",
		strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %v %v", err, resp)
	}
	resp.Body.Close()
}

func TestBackchannelLogout(t *testing.T) {
	t.Parallel()
	tokens := make(chan string, 4)
	bc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("back-channel logout got %s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		tokens <- r.PostFormValue("logout_token")
	}))
	t.Cleanup(bc.Close)
	rp := relyingParty(t)
	p := Start(t, Options{Clients: []Client{{
		ID: "web", Secret: "web-secret", RedirectURIs: []string{rp.URL + "/cb"},
		PostLogoutRedirectURIs: []string{rp.URL + "/out"}, BackchannelLogoutURI: bc.URL + "/logout",
	}}})
	cfg := &oauth2.Config{
		ClientID: "web", ClientSecret: "web-secret", Endpoint: p.Endpoint(), RedirectURL: rp.URL + "/cb",
		Scopes: []string{oidc.ScopeOpenID, "email"},
	}
	c := browser(t)
	tok, id := codeLogin(t, p, cfg, c, "carol")
	if id.Sid == "" {
		t.Fatal("no sid in the ID token of a client with back-channel logout")
	}

	resp := p.Logout(t, c, p.EndSessionURL(tok.Extra("id_token").(string), rp.URL+"/out", "bye"))
	resp.Body.Close()
	if resp.Request.URL.Path != "/out" || resp.Request.URL.Query().Get("state") != "bye" {
		t.Errorf("logout ended at %s, want /out with state", resp.Request.URL.Path)
	}
	var raw string
	select {
	case raw = <-tokens:
	case <-time.After(5 * time.Second):
		t.Fatal("no back-channel logout request")
	}
	lt, err := verifier(t, p, "web").Verify(t.Context(), raw)
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	var claims struct {
		Sub    string                     `json:"sub"`
		Sid    string                     `json:"sid"`
		Nonce  *string                    `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if err := lt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if _, ok := claims.Events["http://schemas.openid.net/event/backchannel-logout"]; !ok ||
		claims.Sub != "carol" || claims.Sid != id.Sid || claims.Nonce != nil {
		t.Errorf("logout token claims = %+v, want sub carol, sid %q, the back-channel event, no nonce", claims, id.Sid)
	}
	_, err = cfg.TokenSource(t.Context(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if re := (*oauth2.RetrieveError)(nil); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after logout: %v, want invalid_grant", err)
	}
}
