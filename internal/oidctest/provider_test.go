package oidctest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func challenge(v string) string {
	s := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// code runs /authorize and returns the code.
func code(t *testing.T, authURL string, q url.Values) string {
	t.Helper()
	resp, err := noRedirect.Get(authURL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != q.Get("state") {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func postToken(t *testing.T, p *Provider, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID, p.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func TestProviderPKCEAndRotation(t *testing.T) {
	p := New(t, Options{})
	auth := url.Values{"client_id": {p.ClientID}, "response_type": {"code"}, "redirect_uri": {"https://rp/cb"},
		"state": {"s"}, "nonce": {"n"}, "code_challenge": {challenge("verifier")}, "code_challenge_method": {"S256"}}
	// A wrong verifier is refused, and the code is gone afterwards.
	c := code(t, p.Issuer+"/authorize", auth)
	st, m := postToken(t, p, url.Values{"grant_type": {"authorization_code"}, "code": {c},
		"redirect_uri": {"https://rp/cb"}, "code_verifier": {"wrong"}})
	if st != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Fatalf("wrong verifier: %d %v", st, m)
	}
	c = code(t, p.Issuer+"/authorize", auth)
	st, m = postToken(t, p, url.Values{"grant_type": {"authorization_code"}, "code": {c},
		"redirect_uri": {"https://rp/cb"}, "code_verifier": {"verifier"}})
	if st != http.StatusOK || m["id_token"] == nil || m["refresh_token"] == nil {
		t.Fatalf("token: %d %v", st, m)
	}
	rt := m["refresh_token"].(string)
	st, m = postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	if st != http.StatusOK || m["refresh_token"] == rt {
		t.Fatalf("refresh: %d %v", st, m)
	}
	if st, m = postToken(t, p, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); st != http.StatusBadRequest {
		t.Fatalf("reused refresh token: %d %v", st, m)
	}
	if n := p.Requests("/token"); n != 4 {
		t.Errorf("token requests = %d", n)
	}
	// Without S256 the authorization request is refused.
	auth.Del("code_challenge_method")
	resp, err := noRedirect.Get(p.Issuer + "/authorize?" + auth.Encode())
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain PKCE accepted: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestGitHubTokenFormats(t *testing.T) {
	g := NewGitHub(t, GitHubUser{ID: 7, Login: "x"})
	for accept, wantType := range map[string]string{"": "application/x-www-form-urlencoded", "application/json": "application/json"} {
		c := code(t, g.AuthorizationURL(), url.Values{"client_id": {g.ClientID}, "redirect_uri": {"https://rp/cb"},
			"state": {"s"}, "scope": {"read:user user:email"}})
		form := url.Values{"client_id": {g.ClientID}, "client_secret": {g.ClientSecret}, "code": {c}, "redirect_uri": {"https://rp/cb"}}
		req, _ := http.NewRequest(http.MethodPost, g.TokenURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) ||
			!strings.Contains(body.String(), "access_token") || !strings.Contains(body.String(), "bearer") {
			t.Errorf("Accept %q: %s %s", accept, ct, body.String())
		}
	}
}

func TestProviderWithheldScopes(t *testing.T) {
	p := New(t, Options{})
	p.SetWithheldScopes("reports:write")
	auth := url.Values{"client_id": {p.ClientID}, "response_type": {"code"}, "redirect_uri": {"https://rp/cb"},
		"state": {"s"}, "scope": {"openid reports:write email"},
		"code_challenge": {challenge("verifier")}, "code_challenge_method": {"S256"}}
	st, m := postToken(t, p, url.Values{"grant_type": {"authorization_code"}, "code": {code(t, p.Issuer+"/authorize", auth)},
		"redirect_uri": {"https://rp/cb"}, "code_verifier": {"verifier"}})
	if st != http.StatusOK || m["scope"] != "openid email" {
		t.Fatalf("withheld: %d scope %v", st, m["scope"])
	}
	p.SetWithheldScopes()
	st, m = postToken(t, p, url.Values{"grant_type": {"authorization_code"}, "code": {code(t, p.Issuer+"/authorize", auth)},
		"redirect_uri": {"https://rp/cb"}, "code_verifier": {"verifier"}})
	if st != http.StatusOK || m["scope"] != "openid reports:write email" {
		t.Fatalf("granted: %d scope %v", st, m["scope"])
	}
}

func TestProviderIssuerPath(t *testing.T) {
	p := New(t, Options{IssuerPath: "/tenant-1/v2.0"})
	if p.Issuer != p.Server.URL+"/tenant-1/v2.0" {
		t.Fatalf("issuer %q", p.Issuer)
	}
	st, _, disc := getJSON(t, http.DefaultClient, p.Issuer+"/.well-known/openid-configuration")
	if st != 200 || disc["issuer"] != p.Issuer || disc["jwks_uri"] != p.Issuer+"/jwks" {
		t.Fatalf("discovery: %d %v", st, disc)
	}
	if st, _, _ := getJSON(t, http.DefaultClient, p.Server.URL+"/.well-known/openid-configuration"); st != 404 {
		t.Fatalf("discovery outside the issuer path: %d", st)
	}
}
