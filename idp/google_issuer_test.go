package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// googleRoute sends requests for Google's issuer host to the test provider
// standing in for it.
type googleRoute struct{ to *url.URL }

func (g googleRoute) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "accounts.google.com" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = g.to.Scheme, g.to.Host, g.to.Host
	}
	return http.DefaultTransport.RoundTrip(r)
}

// googleLogin signs user in at a provider that plays Google under its real
// issuer and spells it in its ID tokens as idTokenIss, with hosted_domain
// acme.com.
func googleLogin(t *testing.T, user *oidctest.User, idTokenIss string) (*oidctest.Provider, *Client, *Tokens, *portcullis.Identity, error) {
	t.Helper()
	clk := newClock()
	p := oidctest.New(t, oidctest.Options{User: user, Now: clk.Now, Issuer: GoogleIssuer, IDTokenIssuer: idTokenIss})
	to, _ := url.Parse(p.Server.URL)
	hc := &http.Client{Transport: googleRoute{to}}
	c, err := New(Config{Kind: "google", HostedDomain: "acme.com", ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry(), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	code := authorizeVia(t, hc, c, "state-1", "nonce-1", testVerifier)
	toks, id, err := c.Exchange(context.Background(), code, testVerifier, "nonce-1", time.Time{})
	return p, c, toks, id, err
}

// TestGoogleIssuerSpellings: Google's ID tokens name their issuer
// https://accounts.google.com or accounts.google.com, and go-oidc accepts
// both for the configured one. Either is the provider: hosted_domain
// applies (it was skipped for the short spelling, so any Gmail account
// signed in), and the identity names the configured issuer, so that
// sub_id and require_claims { iss = ... } see one issuer.
func TestGoogleIssuerSpellings(t *testing.T) {
	gmail := &oidctest.User{Subject: "1077", Claims: map[string]any{"email": "eve@gmail.com", "email_verified": true}}
	for _, iss := range []string{GoogleIssuer, "accounts.google.com"} {
		t.Run(iss, func(t *testing.T) {
			if _, _, _, id, err := googleLogin(t, gmail, iss); !errors.Is(err, ErrHostedDomain) {
				t.Fatalf("consumer account outside hosted_domain: err %v, identity %+v", err, id)
			}
			_, c, toks, id, err := googleLogin(t, googleUser("acme.com"), iss)
			if err != nil {
				t.Fatalf("Workspace account: %v", err)
			}
			if id.Issuer != GoogleIssuer || id.Claims["iss"] != GoogleIssuer || !id.EmailVerified {
				t.Errorf("identity issuer %q, iss claim %v, email verified %v", id.Issuer, id.Claims["iss"], id.EmailVerified)
			}
			// A session saved with the short spelling (before this was
			// fixed) refreshes: both spellings are one issuer.
			prev := *id
			prev.Issuer = "accounts.google.com"
			_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, &prev)
			if err != nil || id2.Issuer != GoogleIssuer {
				t.Errorf("refresh of a session saved as accounts.google.com: %v, issuer %v", err, id2)
			}
		})
	}
	t.Run("refresh without ID token", func(t *testing.T) {
		p, c, toks, id, err := googleLogin(t, googleUser("acme.com"), "accounts.google.com")
		if err != nil {
			t.Fatal(err)
		}
		p.SetFaults(oidctest.FaultNoIDToken)
		prev := *id
		prev.Issuer = "accounts.google.com"
		_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, &prev)
		if err != nil || id2.Issuer != GoogleIssuer || !strings.EqualFold(id2.Email, "ann@acme.com") {
			t.Errorf("refresh: %v, identity %+v", err, id2)
		}
	})
}
