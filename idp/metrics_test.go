package idp

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/prometheus/client_golang/prometheus"
)

// gathered returns the value of a counter, or the sample count of a
// histogram, for the series of name whose labels include want.
func gathered(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, c, _ := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.Metrics = reg })
	if _, _, err := login(t, c); err != nil {
		t.Fatal(err)
	}
	tok := p.AccessToken("alice", nil)
	for range 3 {
		_, _ = c.VerifyBearer(context.Background(), tok)
	}
	_, _ = c.VerifyBearer(context.Background(), "bad token")
	for labels, want := range map[[2]string]float64{
		{"valid", "jwt"}: 1, {"valid", "cache"}: 2, {"invalid", "jwt"}: 1, {"valid", "introspection"}: 0,
	} {
		got := gathered(t, reg, "portcullis_bearer_verifications_total", map[string]string{"result": labels[0], "source": labels[1]})
		if got != want {
			t.Errorf("bearer_verifications_total%v = %v, want %v", labels, got, want)
		}
	}
	for _, ep := range []string{"discovery", "jwks", "token", "userinfo"} {
		if n := gathered(t, reg, "portcullis_provider_request_duration_seconds", map[string]string{"endpoint": ep}); n == 0 {
			t.Errorf("no provider_request_duration_seconds for %s", ep)
		}
	}
}

// TestMetricsReregister builds a second client on the same registry, as a
// reload that changes [provider] does: it counts on the same series.
func TestMetricsReregister(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(Config{Issuer: "https://issuer.example", ClientID: "c", RedirectURL: redirectURL, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Issuer: "https://other.example", ClientID: "c", RedirectURL: redirectURL, Metrics: reg})
	if err != nil {
		t.Fatalf("second client on the same registry: %v", err)
	}
	if a.metrics.bearer != b.metrics.bearer || a.metrics.providerDuration != b.metrics.providerDuration {
		t.Error("the second client registered new collectors instead of reusing the first's")
	}
}

// TestPlainOAuth2 runs a login against a provider used without discovery:
// the identity comes from the userinfo JSON through the claim settings.
func TestPlainOAuth2(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{User: &oidctest.User{Subject: "u-1",
		Claims: map[string]any{"mail": "u@example.com", "roles": []string{"dev"}}}})
	c, err := New(Config{Kind: "oauth2", ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: redirectURL,
		AuthorizationURL: p.Issuer + "/authorize", TokenURL: p.Issuer + "/token", UserinfoURL: p.Issuer + "/userinfo",
		Scopes: []string{"profile"}, EmailClaim: "mail", GroupsClaim: "roles", AssumeEmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	code := authorize(t, c, "st", "", testVerifier)
	if q := p.LastAuthorize(); q.Has("nonce") {
		t.Errorf("nonce sent to a plain OAuth 2.0 provider: %v", q)
	}
	_, id, err := c.Exchange(context.Background(), code, testVerifier, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "u-1" || id.Email != "u@example.com" || !id.EmailVerified || len(id.Groups) != 1 || id.Issuer != "" {
		t.Errorf("identity = %+v", id)
	}
}
