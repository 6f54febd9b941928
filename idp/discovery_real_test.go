package idp

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// realProvider discovers a test provider that serves, under issuer, the
// discovery members doc (nil removes one of the test provider's own), and
// returns the client, Discover's error and the log.
func realProvider(t *testing.T, issuer string, doc map[string]any) (*Client, error, string) {
	t.Helper()
	iu, err := url.Parse(issuer)
	if err != nil {
		t.Fatal(err)
	}
	p := oidctest.New(t, oidctest.Options{Issuer: issuer, IssuerPath: strings.TrimSuffix(iu.Path, "/"), Discovery: doc})
	to, _ := url.Parse(p.Server.URL)
	var logs bytes.Buffer
	c, err := New(Config{Issuer: issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		HTTPClient: &http.Client{Transport: hostRoute{iu.Host, to}}, Metrics: prometheus.NewRegistry(),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Discover(context.Background())
	return c, err, logs.String()
}

// TestRealProvidersKeepEveryEndpoint: the discovery documents of the
// providers users run, as they publish them (each provider's
// /.well-known/openid-configuration and its documentation), pass the
// endpoint rule and keep every endpoint they list, with nothing logged.
// The documents' other members are the test provider's own.
func TestRealProvidersKeepEveryEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name, issuer                             string
		jwks, endSession, revocation, introspect string
	}{
		{name: "Google", issuer: "https://accounts.google.com",
			jwks: "https://www.googleapis.com/oauth2/v3/certs", revocation: "https://oauth2.googleapis.com/revoke"},
		{name: "Entra ID v2.0", issuer: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
			jwks:       "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/discovery/v2.0/keys",
			endSession: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/oauth2/v2.0/logout"},
		{name: "Okta", issuer: "https://dev-123456.okta.com/oauth2/default",
			jwks: "https://dev-123456.okta.com/oauth2/default/v1/keys", endSession: "https://dev-123456.okta.com/oauth2/default/v1/logout",
			revocation: "https://dev-123456.okta.com/oauth2/default/v1/revoke", introspect: "https://dev-123456.okta.com/oauth2/default/v1/introspect"},
		{name: "Auth0", issuer: "https://acme.us.auth0.com/",
			jwks: "https://acme.us.auth0.com/.well-known/jwks.json", endSession: "https://acme.us.auth0.com/oidc/logout",
			revocation: "https://acme.us.auth0.com/oauth/revoke"},
		{name: "Keycloak", issuer: "https://kc.example.com/realms/acme",
			jwks:       "https://kc.example.com/realms/acme/protocol/openid-connect/certs",
			endSession: "https://kc.example.com/realms/acme/protocol/openid-connect/logout",
			revocation: "https://kc.example.com/realms/acme/protocol/openid-connect/revoke",
			introspect: "https://kc.example.com/realms/acme/protocol/openid-connect/token/introspect"},
		{name: "Zitadel", issuer: "https://acme-x1y2z3.zitadel.cloud",
			jwks: "https://acme-x1y2z3.zitadel.cloud/oauth/v2/keys", endSession: "https://acme-x1y2z3.zitadel.cloud/oidc/v1/end_session",
			revocation: "https://acme-x1y2z3.zitadel.cloud/oauth/v2/revoke", introspect: "https://acme-x1y2z3.zitadel.cloud/oauth/v2/introspect"},
		{name: "Dex", issuer: "https://dex.example.com/dex", jwks: "https://dex.example.com/dex/keys"},
		{name: "Authentik", issuer: "https://authentik.example.com/application/o/portcullis/",
			jwks:       "https://authentik.example.com/application/o/portcullis/jwks/",
			endSession: "https://authentik.example.com/application/o/portcullis/end-session/",
			revocation: "https://authentik.example.com/application/o/revoke/",
			introspect: "https://authentik.example.com/application/o/introspect/"},
		{name: "Amazon Cognito", issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E",
			jwks:       "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12Cd34E/.well-known/jwks.json",
			revocation: "https://acme.auth.eu-west-1.amazoncognito.com/oauth2/revoke"},
		{name: "GitLab", issuer: "https://gitlab.com", jwks: "https://gitlab.com/oauth/discovery/keys",
			revocation: "https://gitlab.com/oauth/revoke", introspect: "https://gitlab.com/oauth/introspect"},
		{name: "Salesforce", issuer: "https://login.salesforce.com", jwks: "https://login.salesforce.com/id/keys",
			revocation: "https://login.salesforce.com/services/oauth2/revoke", introspect: "https://login.salesforce.com/services/oauth2/introspect"},
		{name: "PingOne", issuer: "https://auth.pingone.eu/5caa81af-ec05-41ff-a709-c7378007a99c/as",
			jwks:       "https://auth.pingone.eu/5caa81af-ec05-41ff-a709-c7378007a99c/as/jwks",
			endSession: "https://auth.pingone.eu/5caa81af-ec05-41ff-a709-c7378007a99c/as/signoff",
			revocation: "https://auth.pingone.eu/5caa81af-ec05-41ff-a709-c7378007a99c/as/revoke",
			introspect: "https://auth.pingone.eu/5caa81af-ec05-41ff-a709-c7378007a99c/as/introspect"},
		{name: "PingFederate", issuer: "https://pf.example.com:9031", jwks: "https://pf.example.com:9031/pf/JWKS",
			revocation: "https://pf.example.com:9031/as/revoke_token.oauth2", introspect: "https://pf.example.com:9031/as/introspect.oauth2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := map[string]any{"jwks_uri": tt.jwks}
			for k, v := range map[string]string{"end_session_endpoint": tt.endSession,
				"revocation_endpoint": tt.revocation, "introspection_endpoint": tt.introspect} {
				doc[k] = nil
				if v != "" {
					doc[k] = v
				}
			}
			c, err, logs := realProvider(t, tt.issuer, doc)
			if err != nil {
				t.Fatalf("Discover: %v", err)
			}
			m := c.meta.Load()
			got := [...]string{m.primary.keys.url, m.endSessionURL, m.revocationURL, m.introspectionURL}
			if want := [...]string{tt.jwks, tt.endSession, tt.revocation, tt.introspect}; got != want {
				t.Errorf("endpoints kept = %q, want %q", got, want)
			}
			if logs != "" {
				t.Errorf("logged at discovery:\n%s", logs)
			}
		})
	}
}

// TestKeycloakBehindProxyWithHTTPBackChannel: Keycloak behind a
// TLS-terminating proxy that does not trust the proxy's headers builds its
// front-channel URLs (issuer, end_session_endpoint) from its https
// frontendUrl or hostname and its back-channel ones (jwks_uri, token,
// userinfo, introspection, revocation) from the http request it was given.
// Discovery fails, as keys over http could be anyone's; the error, logged
// at each retry and shown at /readyz, said only "jwks_uri is http under an
// https issuer": it now names the URL and what to change at Keycloak.
func TestKeycloakBehindProxyWithHTTPBackChannel(t *testing.T) {
	const iss = "https://kc.example.com/realms/acme"
	back := "http://kc.example.com/realms/acme/protocol/openid-connect"
	c, err, _ := realProvider(t, iss, map[string]any{
		"jwks_uri": back + "/certs", "token_endpoint": back + "/token", "userinfo_endpoint": back + "/userinfo",
		"introspection_endpoint": back + "/token/introspect", "revocation_endpoint": back + "/revoke",
		"end_session_endpoint": iss + "/protocol/openid-connect/logout"})
	if err == nil || c.Ready() {
		t.Fatalf("Discover = %v, ready %v; want it failed", err, c.Ready())
	}
	for _, want := range []string{"jwks_uri " + back + "/certs is http under an https issuer",
		"X-Forwarded-Proto", "--proxy-headers xforwarded"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Discover's error does not say %q: %v", want, err)
		}
	}

	// An optional endpoint alone over http is left out; the warning says
	// the same fix.
	_, err, logs := realProvider(t, iss, map[string]any{"jwks_uri": iss + "/protocol/openid-connect/certs",
		"revocation_endpoint": back + "/revoke"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"revocation_endpoint cannot be used", "endpoint=" + back + "/revoke", "X-Forwarded-Proto"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the warning does not say %q:\n%s", want, logs)
		}
	}
}

// TestExtraIssuerJWKSURIMeetsTheRule: an extra issuer's jwks_uri, read
// from its own discovery document when jwks_url is not set, is held to the
// rule the provider's is: keys over http under an https issuer were
// trusted for it. The tenant's v1.0 issuer as Entra ID publishes it passes.
func TestExtraIssuerJWKSURIMeetsTheRule(t *testing.T) {
	const iss = "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/"
	for _, tt := range []struct{ jwks, problem string }{
		{jwks: "https://login.microsoftonline.com/common/discovery/keys"},
		{jwks: "http://login.microsoftonline.com/common/discovery/keys", problem: "is http under an https issuer"},
		{jwks: "/common/discovery/keys", problem: "is not an absolute http(s) URL"},
	} {
		p := oidctest.New(t, oidctest.Options{Issuer: iss, IssuerPath: "/9188040d-6c67-4c5b-b112-36a304b66dad",
			Discovery: map[string]any{"jwks_uri": tt.jwks}})
		to, _ := url.Parse(p.Server.URL)
		c, err := New(Config{Issuer: p.Server.URL, ClientID: "c", ClientSecret: "s", RedirectURL: redirectURL,
			HTTPClient: &http.Client{Transport: hostRoute{"sts.windows.net", to}}, Metrics: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		u, err := c.discoverJWKSURL(context.Background(), iss)
		switch {
		case tt.problem == "" && (err != nil || u != tt.jwks):
			t.Errorf("jwks_uri %s: %q, %v; want it kept", tt.jwks, u, err)
		case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
			t.Errorf("jwks_uri %s: %q, %v; want it refused: %s", tt.jwks, u, err, tt.problem)
		}
	}
}
