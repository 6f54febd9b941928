package idp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// plainOAuthIntrospectingClient is plainOAuthClient with p's introspection
// endpoint configured.
func plainOAuthIntrospectingClient(t *testing.T, p *oidctest.Provider) *Client {
	t.Helper()
	c, err := New(Config{Kind: "oauth2", ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		AuthorizationURL: p.Issuer + "/authorize", TokenURL: p.Issuer + "/token", UserinfoURL: p.Issuer + "/userinfo",
		IntrospectionURL: p.Issuer + "/introspect", Scopes: []string{"profile"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlainOAuthIntrospectionFormAuth: a plain OAuth 2.0 provider that
// refuses Basic is introspected with the credentials in the form, as its
// token endpoint is asked: at once once either endpoint refused Basic, else
// after the introspection endpoint's own refusal, once. Introspection
// always sent Basic, so every opaque bearer token was refused.
func TestPlainOAuthIntrospectionFormAuth(t *testing.T) {
	ctx := context.Background()
	p := oidctest.New(t, oidctest.Options{ClientSecretPostOnly: true})
	c := plainOAuthIntrospectingClient(t, p)
	toks, id, err := c.Exchange(ctx, authorize(t, c, "st", "", testVerifier), testVerifier, "", time.Time{})
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := c.VerifyBearer(ctx, toks.AccessToken); err != nil {
		t.Fatalf("opaque token after the token endpoint refused Basic: %v", err)
	}
	if n := p.Requests("/introspect"); n != 1 {
		t.Errorf("introspection after the token endpoint refused Basic: %d requests, want 1 (the form)", n)
	}

	// A restarted gateway has learned nothing: the introspection endpoint's
	// refusal teaches it, and the token endpoint then takes the form at once.
	fresh := plainOAuthIntrospectingClient(t, p)
	if _, err := fresh.VerifyBearer(ctx, toks.AccessToken); err != nil {
		t.Fatalf("opaque token, introspection refusing Basic: %v", err)
	}
	if n := p.Requests("/introspect") - 1; n != 2 {
		t.Errorf("first introspection of a restarted gateway: %d requests, want 2 (Basic refused, then the form)", n)
	}
	tokens := p.Requests("/token")
	refreshed, _, err := fresh.Refresh(ctx, toks.RefreshToken, id)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if n := p.Requests("/token") - tokens; n != 1 {
		t.Errorf("refresh after introspection learned the form: %d token requests, want 1", n)
	}
	before := p.Requests("/introspect")
	if _, err := fresh.VerifyBearer(ctx, refreshed.AccessToken); err != nil {
		t.Fatalf("second opaque token: %v", err)
	}
	if n := p.Requests("/introspect") - before; n != 1 {
		t.Errorf("second introspection: %d requests, want 1", n)
	}
}

// TestPlainOAuthIntrospectionNotRepeated: an introspection that fails for
// another reason than the client's authentication is not sent again.
func TestPlainOAuthIntrospectionNotRepeated(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{})
	c := plainOAuthIntrospectingClient(t, p)
	p.SetFaults(oidctest.FaultServerError)
	if _, err := c.VerifyBearer(context.Background(), "opaque-token"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("introspection with the provider failing: %v, want ErrUnavailable", err)
	}
	if n := p.Requests("/introspect"); n != 1 {
		t.Errorf("a failed introspection made %d requests, want 1 (the token sent once)", n)
	}
}

// TestDiscoveredClientSecretPost: an OpenID provider whose discovery
// document names client_secret_post alone, for the token endpoint (which
// then stands for introspection and revocation, RFC 8414 §2 leaving an
// omitted list to "other means") or for introspection and revocation
// themselves, is introspected and asked to revoke with the credentials in
// the form, each once. Both always sent Basic: every opaque bearer token
// was refused and a sign-out's revocation never happened.
func TestDiscoveredClientSecretPost(t *testing.T) {
	both := []string{"client_secret_basic", "client_secret_post"}
	post := []string{"client_secret_post"}
	for name, doc := range map[string]map[string]any{
		"token endpoint": {"token_endpoint_auth_methods_supported": post},
		"own lists": {"token_endpoint_auth_methods_supported": both,
			"introspection_endpoint_auth_methods_supported": post, "revocation_endpoint_auth_methods_supported": post},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			p, c, _ := setup(t, oidctest.Options{ClientSecretPostOnly: true, Discovery: doc}, nil)
			// The tokens come from the same client as a plain OAuth 2.0
			// one, which finds the form by itself.
			plain := plainOAuthClient(t, p)
			toks, _, err := plain.Exchange(ctx, authorize(t, plain, "st", "", testVerifier), testVerifier, "", time.Time{})
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if _, err := c.VerifyBearer(ctx, toks.AccessToken); err != nil {
				t.Errorf("opaque token: %v", err)
			}
			if err := c.Revoke(ctx, toks.RefreshToken); err != nil || !p.Revoked(toks.RefreshToken) {
				t.Fatalf("revocation: %v, revoked %v", err, p.Revoked(toks.RefreshToken))
			}
			if i, r := p.Requests("/introspect"), p.Requests("/revoke"); i != 1 || r != 1 {
				t.Errorf("%d introspection and %d revocation requests, want 1 each", i, r)
			}
		})
	}
}
