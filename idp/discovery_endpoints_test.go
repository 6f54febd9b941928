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

// TestDiscoveredEndpointsThatCannotBeUsed: a discovery document's
// end_session_endpoint that does not parse, is not absolute, has a
// fragment or is http under an https issuer was dropped in silence when a
// sign-out built its URL, so every sign-out became local-only with nothing
// said; a revocation_endpoint like it failed and was logged at every
// sign-out, a jwks_uri like it at every token. Now an optional endpoint
// that cannot be used is left out with one warning at discovery, and a
// jwks_uri that cannot be used fails discovery as a missing one does (the
// gateway stays not ready and says why).
func TestDiscoveredEndpointsThatCannotBeUsed(t *testing.T) {
	for _, tt := range []struct {
		name, endSession, problem string
		https                     bool
	}{
		{name: "not a URL", endSession: "https://op.example/%zz", problem: "is not a URL"},
		{name: "relative", endSession: "/end_session", problem: "is not an absolute http(s) URL"},
		{name: "another scheme", endSession: "javascript:alert(1)", problem: "is not an absolute http(s) URL"},
		{name: "port but no host", endSession: "http://:443/end_session", problem: "is not an absolute http(s) URL"},
		{name: "empty authority", endSession: "http://:", problem: "is not an absolute http(s) URL"},
		{name: "fragment", endSession: "https://op.example/end_session#x", problem: "has a fragment"},
		{name: "http under https", endSession: "http://accounts.google.com/end_session", problem: "is http under an https issuer", https: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			c := discovered(t, tt.https, &logs, map[string]any{"end_session_endpoint": tt.endSession, "revocation_endpoint": tt.endSession})
			if u := c.EndSessionURL("idt", "st", "https://gw.example.com/oauth2/signed_out"); u != "" {
				t.Errorf("EndSessionURL = %q, want none", u)
			}
			if err := c.Revoke(context.Background(), "rt"); err != nil {
				t.Errorf("Revoke to an endpoint left out: %v", err)
			}
			out := logs.String()
			for _, want := range []string{"end_session_endpoint cannot be used; a sign-out ends the session at the gateway only",
				"revocation_endpoint cannot be used; a sign-out revokes no refresh token", tt.problem} {
				if !strings.Contains(out, want) {
					t.Errorf("the discovery log does not say %q:\n%s", want, out)
				}
			}
			if n := strings.Count(out, "level=WARN"); n != 2 {
				t.Errorf("%d warnings at discovery, want 2 (one per endpoint):\n%s", n, out)
			}
		})
	}

	t.Run("usable", func(t *testing.T) {
		var logs bytes.Buffer
		c := discovered(t, true, &logs, nil)
		if u := c.EndSessionURL("idt", "st", "https://gw.example.com/oauth2/signed_out"); !strings.HasPrefix(u, "https://accounts.google.com/end_session?") {
			t.Errorf("EndSessionURL = %q", u)
		}
		if logs.Len() != 0 {
			t.Errorf("warnings for a usable document:\n%s", logs.String())
		}
	})

	t.Run("password not logged", func(t *testing.T) {
		var logs bytes.Buffer
		discovered(t, false, &logs, map[string]any{"end_session_endpoint": "https://user:hunter2@op.example/%zz"})
		if out := logs.String(); strings.Contains(out, "hunter2") || !strings.Contains(out, "op.example") {
			t.Errorf("logged:\n%s", out)
		}
	})

	for _, bad := range []struct{ member, url string }{
		{"jwks_uri", "https://op.example/%zz"}, {"jwks_uri", "/jwks"}, {"jwks_uri", "http://accounts.google.com/jwks"},
		{"token_endpoint", "http://accounts.google.com/token"}, {"token_endpoint", ""},
		{"authorization_endpoint", "http://accounts.google.com/authorize"}, {"authorization_endpoint", "https://op.example/a#f"},
		{"userinfo_endpoint", "http://accounts.google.com/userinfo"}, {"userinfo_endpoint", "https://u:p@op.example/userinfo"},
	} {
		o := oidctest.Options{Issuer: GoogleIssuer, Discovery: map[string]any{bad.member: bad.url}}
		p := oidctest.New(t, o)
		to, _ := url.Parse(p.Server.URL)
		c, err := New(Config{Issuer: GoogleIssuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
			HTTPClient: &http.Client{Transport: googleRoute{to}}, Metrics: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Discover(context.Background()); err == nil || !strings.Contains(err.Error(), bad.member) || c.Ready() {
			t.Errorf("%s %q: discovery err = %v, ready %v; want it failed", bad.member, bad.url, err, c.Ready())
		}
	}
}

// discovered is a client that discovered a provider whose document has
// the members doc; https makes the provider play an https issuer
// (Google's), and the warnings go to logs.
func discovered(t *testing.T, https bool, logs *bytes.Buffer, doc map[string]any) *Client {
	t.Helper()
	o := oidctest.Options{Discovery: doc}
	if https {
		o.Issuer = GoogleIssuer
	}
	p := oidctest.New(t, o)
	cfg := Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		Metrics: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(logs, nil))}
	if https {
		to, _ := url.Parse(p.Server.URL)
		cfg.Issuer, cfg.HTTPClient = GoogleIssuer, &http.Client{Transport: googleRoute{to}}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return c
}

// TestShownEndpointHidesPasswords: a discovery document's endpoint as a
// warning or /readyz shows it. Without a scheme ("//user:pw@host"), or
// with a single slash (read so by WHATWG URLs), the password was shown.
func TestShownEndpointHidesPasswords(t *testing.T) {
	for raw, want := range map[string]string{
		"//user:hunter2@op.example/x":     "//…@op.example/x",
		"https:/user:hunter2@op.example":  "https:/…@op.example",
		`https:\\user:hunter2@op.example`: `https:\\…@op.example`,
	} {
		if got := shownEndpoint(raw); got != want {
			t.Errorf("shownEndpoint(%.40q) = %q, want %q", raw, got, want)
		}
	}
}
