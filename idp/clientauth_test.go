package idp

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// plainOAuthClient is a Client of p as a plain OAuth 2.0 provider: no
// discovery, so no published client authentication method.
func plainOAuthClient(t *testing.T, p *oidctest.Provider) *Client {
	t.Helper()
	c, err := New(Config{Kind: "oauth2", ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		AuthorizationURL: p.Issuer + "/authorize", TokenURL: p.Issuer + "/token", UserinfoURL: p.Issuer + "/userinfo",
		Scopes: []string{"profile"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlainOAuthTokenRequestNotRepeated: a plain OAuth 2.0 provider's
// token request that fails for any other reason than the client's
// authentication is not sent again: an authorization code is single-use
// (RFC 6749 §4.1.2, a provider that sees it twice revokes what it issued
// for it) and a rotating refresh token presented twice revokes the grant.
// x/oauth2's auto-detection sent every failed request a second time with
// the credentials in the form.
func TestPlainOAuthTokenRequestNotRepeated(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	c := plainOAuthClient(t, p)
	p.SetFaults(oidctest.FaultServerError)
	code := authorize(t, c, "st", "", testVerifier)
	if _, _, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{}); err == nil {
		t.Fatal("exchange with the provider failing: no error")
	}
	if n := p.Requests("/token"); n != 1 {
		t.Errorf("a failed code exchange made %d token requests, want 1 (the code sent once)", n)
	}
	p.SetFaults(0)
	toks, id, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	// A restarted gateway has learned nothing: a spent code, then a
	// refresh while the provider fails.
	before := p.Requests("/token")
	if _, _, err := plainOAuthClient(t, p).Exchange(context.Background(), code, testVerifier, "", time.Time{}); err == nil {
		t.Fatal("exchange of a spent code: no error")
	}
	if n := p.Requests("/token") - before; n != 1 {
		t.Errorf("a refused code made %d token requests, want 1", n)
	}
	p.SetFaults(oidctest.FaultServerError)
	before = p.Requests("/token")
	if _, _, err := plainOAuthClient(t, p).Refresh(context.Background(), toks.RefreshToken, id); err == nil {
		t.Fatal("refresh with the provider failing: no error")
	}
	if n := p.Requests("/token") - before; n != 1 {
		t.Errorf("a failed refresh made %d token requests, want 1 (the refresh token sent once)", n)
	}
}

// TestPlainOAuthFormAuthProvider: a plain OAuth 2.0 provider that refuses
// Basic gets the credentials in the form after its refusal, and from then
// on at once: one request a refresh.
// The refusal is 401 invalid_client (RFC 6749 §5.2), or a 400 that says
// the request lacked what the form would carry: invalid_request, or a
// body with no OAuth error code at all.
func TestPlainOAuthFormAuthProvider(t *testing.T) {
	for _, refusal := range []string{"", "invalid_request", "-"} {
		t.Run("refusal "+refusal, func(t *testing.T) { formAuthProvider(t, refusal) })
	}
}

func formAuthProvider(t *testing.T, refusal string) {
	p := oidctest.New(t, oidctest.Options{ClientSecretPostOnly: true, BasicRefusal: refusal})
	c := plainOAuthClient(t, p)
	toks, id, err := c.Exchange(context.Background(), authorize(t, c, "st", "", testVerifier), testVerifier, "", time.Time{})
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if n := p.Requests("/token"); n != 2 {
		t.Errorf("the first exchange made %d token requests, want 2 (Basic refused, then the form)", n)
	}
	if _, _, err := c.Refresh(context.Background(), toks.RefreshToken, id); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if n := p.Requests("/token"); n != 3 {
		t.Errorf("the refresh made %d token requests, want 1", n-2)
	}
}
