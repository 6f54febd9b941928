package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestReadyzSaysWhyDiscoveryFails: a provider whose discovery document the
// gateway refuses (here a jwks_uri that is not an absolute URL) keeps the
// gateway not ready, and /readyz said only "provider metadata not loaded":
// it now gives the refusal, naming the member and what to fix, as the log
// does.
func TestReadyzSaysWhyDiscoveryFails(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{Discovery: map[string]any{"jwks_uri": "/protocol/openid-connect/certs"}})
	f := startFixture(t, nil, nil, func(c *testConfig) { c.issuer = p.Issuer })
	want := []string{"not ready: provider metadata not loaded: ", "jwks_uri /protocol/openid-connect/certs is not an absolute http(s) URL",
		"must give an absolute https URL"}
	code, body := readyzSaying(t, f.cfg.ops, want[1])
	for _, w := range want {
		if code != http.StatusServiceUnavailable || !strings.Contains(body, w) {
			t.Errorf("/readyz = %d %q, want 503 saying %q", code, body, w)
		}
	}
}

// TestReadyzDiscoveryErrorHasNoControls: the refusal /readyz gives quotes
// the provider's document; a terminal reading it must get no control
// character from there (an ESC sequence in a jwks_uri here).
func TestReadyzDiscoveryErrorHasNoControls(t *testing.T) {
	p := oidctest.New(t, oidctest.Options{Discovery: map[string]any{"jwks_uri": "/certs\x1b[2J\x07x"}})
	f := startFixture(t, nil, nil, func(c *testConfig) { c.issuer = p.Issuer })
	_, body := readyzSaying(t, f.cfg.ops, "jwks_uri")
	if !strings.Contains(body, "jwks_uri") || strings.ContainsAny(body, "\x1b\x07") {
		t.Errorf("/readyz = %q, want the refusal without control characters", body)
	}
}

// readyzSaying polls /readyz on the ops address for up to 5 s until its
// body contains what, and returns the last status and body.
func readyzSaying(t *testing.T, ops, what string) (int, string) {
	t.Helper()
	var code int
	var body string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get("http://" + ops + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if code, body = resp.StatusCode, string(b); strings.Contains(body, what) {
			break
		}
	}
	return code, body
}
