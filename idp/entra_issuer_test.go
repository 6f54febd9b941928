package idp

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// hostRoute sends requests for host to the test provider standing in for it.
type hostRoute struct {
	host string
	to   *url.URL
}

func (h hostRoute) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == h.host {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = h.to.Scheme, h.to.Host, h.to.Host
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestVerifyBearerEntraRulesFollowTheIssuer: an Entra ID tenant configured
// as kind = "oidc" (its issuer is all OpenID Connect needs) issues the same
// tokens as one configured as kind = "entra", yet the bearer rules for
// Entra's tokens applied to kind = "entra" only. An app-only token, which
// Entra ID issues for the API to any application with a service principal
// in the tenant (another publisher's too, once a user consented to it),
// passed every route that names nobody, and an ID token from the token
// endpoint (no nonce, at_hash or azp) passed for an access token. The rules
// now follow the issuer, as Google's do: every cloud's login host, and a
// v1.0 extra issuer (sts.windows.net) of the same tenant.
func TestVerifyBearerEntraRulesFollowTheIssuer(t *testing.T) {
	for _, host := range []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"} {
		t.Run(host, func(t *testing.T) { testEntraRulesFollowTheIssuer(t, host) })
	}
}

func testEntraRulesFollowTheIssuer(t *testing.T, host string) {
	clk := newClock()
	iss := "https://" + host + "/tid-1/v2.0"
	p := oidctest.New(t, oidctest.Options{Now: clk.Now, Issuer: iss, IssuerPath: "/tid-1/v2.0"})
	v1 := oidctest.New(t, oidctest.Options{Now: clk.Now, IssuerPath: "/sts/tid-1"})
	to, _ := url.Parse(p.Server.URL)
	c, err := New(Config{Kind: "oidc", Issuer: iss, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry(),
		HTTPClient:   &http.Client{Transport: hostRoute{host, to}},
		ExtraIssuers: []ExtraIssuer{{Issuer: v1.Issuer, Audiences: []string{p.ClientID}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	now := clk.Now()
	token := func(signer *oidctest.Provider, extra map[string]any) string {
		return signWith(signer, extra, map[string]any{"iss": signer.Issuer, "sub": "5f1a", "oid": "5f1a",
			"aud": p.ClientID, "tid": "tid-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	for name, tc := range map[string]struct {
		tok  string
		want string
	}{
		"app-only, no role":   {token(p, map[string]any{"azp": "3c2b-other-publisher", "ver": "2.0"}), "app-only"},
		"ID token":            {token(p, map[string]any{"ver": "2.0", "email": "a@example.com"}), "an ID token"},
		"v1.0 app-only":       {token(v1, map[string]any{"appid": "3c2b-other-publisher", "ver": "1.0"}), "app-only"},
		"v1.0 ID token":       {token(v1, map[string]any{"ver": "1.0"}), "an ID token"},
		"app-only, empty scp": {token(p, map[string]any{"azp": "3c2b", "scp": " "}), "app-only"},
	} {
		if id, err := c.VerifyBearer(context.Background(), tc.tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v; want refused as %s", name, id, err, tc.want)
		}
	}
	for name, tok := range map[string]string{
		"delegated":      token(p, map[string]any{"azp": "3c2b", "scp": "Dashboards.Read"}),
		"app role":       token(p, map[string]any{"azp": "3c2b", "roles": []any{"Dashboards.Reader"}}),
		"v1.0 delegated": token(v1, map[string]any{"appid": "3c2b", "scp": "Dashboards.Read"}),
	} {
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestVerifyBearerEntraRulesNotForOtherIssuers: a kind = "oidc" provider
// that is not Entra ID keeps its rules: a token naming no client and
// granting no scope is its access token (Keycloak, Dex and others issue
// such tokens), and a host that only ends like Entra's is not Entra's.
func TestVerifyBearerEntraRulesNotForOtherIssuers(t *testing.T) {
	for _, iss := range []string{"", "https://login.microsoftonline.com.evil.example/tid-1/v2.0"} {
		clk := newClock()
		o := oidctest.Options{Now: clk.Now, Issuer: iss}
		if iss != "" {
			o.IssuerPath = "/tid-1/v2.0"
		}
		p := oidctest.New(t, o)
		cfg := Config{Kind: "oidc", Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
			RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry()}
		if iss != "" {
			to, _ := url.Parse(p.Server.URL)
			cfg.HTTPClient = &http.Client{Transport: hostRoute{"login.microsoftonline.com.evil.example", to}}
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Discover(context.Background()); err != nil {
			t.Fatalf("Discover: %v", err)
		}
		tok := p.Sign(map[string]any{"iss": p.Issuer, "sub": "5f1a", "aud": p.ClientID, "tid": "tid-1",
			"iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix()}, oidctest.SignOptions{})
		if _, err := c.VerifyBearer(context.Background(), tok); err != nil {
			t.Errorf("issuer %q: %v", p.Issuer, err)
		}
	}
}

// TestVerifyBearerEntraRulesFollowTheV1Issuer: a tenant whose provider
// issuer is its v1.0 one (https://sts.windows.net/TENANT/, what the v1.0
// discovery document names), with kind = "oidc", issues the same tokens as
// the v2.0 issuer, yet the rules for Entra's tokens followed only the v2.0
// issuers on the login hosts: an app-only token with no role, which any
// application with a service principal in the tenant can obtain, and an ID
// token passed for access tokens.
func TestVerifyBearerEntraRulesFollowTheV1Issuer(t *testing.T) {
	clk := newClock()
	const host = "sts.windows.net"
	iss := "https://" + host + "/tid-1/"
	p := oidctest.New(t, oidctest.Options{Now: clk.Now, Issuer: iss, IssuerPath: "/tid-1"})
	to, _ := url.Parse(p.Server.URL)
	c, err := New(Config{Kind: "oidc", Issuer: iss, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		RedirectURL: redirectURL, Now: clk.Now, Metrics: prometheus.NewRegistry(),
		HTTPClient: &http.Client{Transport: slashRoute{hostRoute{host, to}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	now := clk.Now()
	token := func(extra map[string]any) string {
		return signWith(p, extra, map[string]any{"iss": iss, "sub": "5f1a", "oid": "5f1a", "aud": p.ClientID,
			"ver": "1.0", "tid": "tid-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	}
	for name, tc := range map[string]struct {
		tok  string
		want string
	}{
		"app-only, no role": {token(map[string]any{"appid": "3c2b-other-publisher"}), "app-only"},
		"ID token":          {token(map[string]any{"upn": "a@example.com"}), "an ID token"},
	} {
		if id, err := c.VerifyBearer(context.Background(), tc.tok); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v; want refused as %s", name, id, err, tc.want)
		}
	}
	const gid = "0b5c8a57-63e5-4f0e-9c1d-2a6f1e3b7d40"
	id, err := c.VerifyBearer(context.Background(), token(map[string]any{"appid": "3c2b", "scp": "Dashboards.Read",
		"groups": []any{"ops", gid}}))
	if err != nil || len(id.Groups) != 1 || id.Groups[0] != gid {
		t.Errorf("delegated, groups [ops %s]: %+v, %v; want the object ID alone as a group", gid, id, err)
	}
}

// slashRoute is a hostRoute for an issuer that ends in "/": the test
// provider names its endpoints issuer + "/jwks", which it serves without
// the doubled slash.
type slashRoute struct{ hostRoute }

func (s slashRoute) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Path = strings.ReplaceAll(r.URL.Path, "//", "/")
	return s.hostRoute.RoundTrip(r)
}

// TestEntraTenantASCIICase: the tenant of a token (tid) and the v1.0
// issuer's host are compared in ASCII case, as the gateway's other names
// are: strings.EqualFold took "ſts.windows.net", with a long s, for Entra's
// v1.0 host, and a tid with a long s or a Kelvin sign for the tenant's
// (neither can come from a token before its signature is checked).
func TestEntraTenantASCIICase(t *testing.T) {
	if got := entraTenant("https://\u017fts.windows.net/tid-1/"); got != "" {
		t.Errorf("tenant of a v1.0 issuer on \u017fts.windows.net: %q, want none", got)
	}
	if got := entraTenant("https://STS.windows.net/tid-1/"); got != "tid-1" {
		t.Errorf("tenant of a v1.0 issuer on STS.windows.net: %q, want tid-1", got)
	}
	c := &Client{entra: true, cfg: Config{Issuer: "https://login.microsoftonline.com/tid-sk/v2.0"}}
	for tid, want := range map[string]bool{"TID-SK": true, "tid-\u017f\u212a": false} {
		if got := c.entraTenantToken("https://sts.windows.net/tid-sk/", map[string]any{"tid": tid}); got != want {
			t.Errorf("tid %q is the tenant tid-sk's: %v, want %v", tid, got, want)
		}
	}
}
