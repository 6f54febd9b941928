package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestGoogleServiceAccountIDTokenAsBearer pins what stops a Google Cloud
// service account of any project: it can mint an ID token (IAM
// generateIdToken, a workload's metadata server) with any audience, the
// gateway's client ID included, that carries no nonce or at_hash. Google
// issues no JWT access tokens, so its ID tokens are the bearer tokens a
// Google deployment takes (docs/providers/google.md, bearer tokens). Such a
// token is accepted as the service account, with its verified address at
// gserviceaccount.com, no groups and no scopes; hosted_domain refuses it
// (it carries no hd), and so do routes that name users (email rules,
// groups, require_claims), which is what docs/security.md says stops it.
func TestGoogleServiceAccountIDTokenAsBearer(t *testing.T) {
	clk := newClock()
	p := oidctest.New(t, oidctest.Options{Now: clk.Now, Issuer: GoogleIssuer})
	to, _ := url.Parse(p.Server.URL)
	hc := &http.Client{Transport: googleRoute{to}}
	now := clk.Now().Unix()
	sa := p.Sign(map[string]any{"iss": GoogleIssuer, "aud": p.ClientID, "azp": "104857600000000000001",
		"sub": "104857600000000000001", "email": "mallory@attacker-proj.iam.gserviceaccount.com",
		"email_verified": true, "iat": now, "exp": now + 3600}, oidctest.SignOptions{Typ: "JWT"})
	for _, tc := range []struct{ name, kind, hd string }{
		{"README's kind oidc", "oidc", ""}, {"kind google", "google", ""}, {"hosted_domain", "google", "acme.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{Kind: tc.kind, Issuer: GoogleIssuer, HostedDomain: tc.hd, ClientID: p.ClientID,
				ClientSecret: p.ClientSecret, RedirectURL: redirectURL, Now: clk.Now,
				Metrics: prometheus.NewRegistry(), HTTPClient: hc})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Discover(context.Background()); err != nil {
				t.Fatal(err)
			}
			id, err := c.VerifyBearer(context.Background(), sa)
			if tc.hd != "" {
				if !errors.Is(err, ErrInvalidToken) || id != nil || !strings.Contains(err.Error(), "no hd claim") {
					t.Fatalf("hosted_domain: identity %+v, err %v", id, err)
				}
				return
			}
			if err != nil || id.Subject != "104857600000000000001" || id.Issuer != GoogleIssuer ||
				!id.EmailVerified || id.Email != "mallory@attacker-proj.iam.gserviceaccount.com" ||
				len(id.Groups) != 0 || len(id.Scopes) != 0 {
				t.Fatalf("identity %+v, err %v", id, err)
			}
		})
	}
}
