package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// exampleEnv provides what config.example.toml reads from the environment.
func exampleEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"GOOGLE_CLIENT_ID":         "1234-abc.apps.googleusercontent.com",
		"GOOGLE_CLIENT_SECRET":     "GOCSPX-not-a-real-secret",
		"PORTCULLIS_COOKIE_SECRET": "q83vEjRWeJq83vBjVhBq7X7D5y0Jf1o4ZkqR8b2mTnE=",
	}[name]
	return v, ok
}

func TestExampleLoads(t *testing.T) {
	path := filepath.Join("..", "config.example.toml")
	cfg, err := Load(path, exampleEnv)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	if len(cfg.Warnings) > 0 {
		t.Errorf("warnings: %q", cfg.Warnings)
	}
	if got, want := cfg.Provider.RedirectURL, "https://dash.example.com/oauth2/callback"; got != want {
		t.Errorf("RedirectURL = %q, want %q", got, want)
	}
	if got, want := cfg.Cookie.Name, "__Host-portcullis"; got != want {
		t.Errorf("cookie name = %q, want %q", got, want)
	}
	if got, want := len(cfg.Routes), 6; got != want {
		t.Errorf("%d routes, want %d", got, want)
	}
	if got := cfg.Provider.AuthParams["access_type"]; got != "offline" {
		t.Errorf("auth_params.access_type = %q", got)
	}
	if cfg.Proxy.Routes == nil {
		t.Error("routes not compiled")
	}
}

// TestExampleDocumentsEveryKey checks that config.example.toml names every
// key of docs/configuration.md, each with a comment.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	keys := []string{
		"listen", "public_url", "prefix", "ops_listen", "trusted_proxies", "allowed_redirect_hosts",
		"tls_cert_file", "tls_key_file", "shutdown_timeout", "shutdown_delay", "pprof", "max_connections", "upgrade_idle_timeout",
		"kind", "issuer", "client_id", "client_secret", "client_secret_file", "scopes", "auth_params",
		"user_claim", "email_claim", "groups_claim", "audiences", "assume_email_verified",
		"introspection_url", "revoke_on_sign_out", "authorization_url", "token_url", "userinfo_url", "[[provider.extra_issuers]]", "jwks_url",
		"hosted_domain", "google_service_account_file", "google_admin_email", "github_api_url", "groups_refresh", "directory_url",
		"store", "cookie_name", "cookie_domain", "secrets", "secrets_file", "lifetime", "refresh", "refresh_margin",
		"redis_url", "redis_cluster_addrs", "redis_sentinel_addrs", "redis_sentinel_master",
		"redis_username", "redis_password", "redis_password_file", "redis_tls_ca_file",
		"user", "email", "groups", "preferred_username", "access_token", "assertion", "assertion_key_file", "claims",
		"format", "level", "logo_url", "support_url",
		"name", "url", "preserve_host", "timeout", "flush_interval", "assertion_audience", "tls_ca_file",
		"tls_skip_verify",
		"host", "path", "methods", "upstream", "public", "deny", "require_scopes", "allow_groups",
		"allow_emails", "allow_email_domains", "require_claims",
	}
	// Every key the decoder reads, so that a key added later without its
	// example fails here even when the list above is not updated.
	for _, k := range testenv.ConfigKeys(t, ".") {
		if k == "extra_issuers" {
			k = "[[provider.extra_issuers]]"
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if !strings.Contains(text, "\n"+k+" =") && !strings.Contains(text, "\n# "+k+" =") &&
			!strings.Contains(text, "\n# "+k+"\n") && !strings.Contains(text, "\n[["+k+"]]\n") {
			t.Errorf("config.example.toml does not mention %s", k)
		}
	}
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "[") && i > 0 && !strings.HasPrefix(strings.Split(text, "\n")[i-1], "#") &&
			!strings.HasPrefix(line, "[[routes]]") && !strings.HasPrefix(line, "[[upstreams]]") {
			t.Errorf("line %d: table %s has no comment above it", i+1, line)
		}
	}
}
