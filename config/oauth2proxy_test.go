package config

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestMigrationProblems: what someone moving from oauth2-proxy writes (its
// option names, its config file's top-level keys, its short cookie secret,
// its environment variable) and a key left in the wrong table are each
// answered with the line and what to write instead.
func TestMigrationProblems(t *testing.T) {
	dir := t.TempDir()
	secret16 := "8U6zzbwBC3qt4v1OAOG0bQ=="
	tests := []problemCase{
		{
			name: "an oauth2-proxy config file's keys",
			doc: "email_domains = [\"example.com\"]\ncookie_secret = \"x\"\nhttp_address = \":4180\"\nclient_id = \"c\"\n" +
				"skip-auth-regex = [\"^/healthz$\"]\nprovider = \"oidc\"\nupstreams = [\"http://127.0.0.1:8080/\"]\n",
			want: []string{
				"cfg.toml:1: email_domains: unknown key; oauth2-proxy's email_domains is allow_email_domains on a [[routes]] entry here",
				"cfg.toml:2: cookie_secret: unknown key; oauth2-proxy's cookie_secret is [session] secrets, a list of new secrets of at least 32 random bytes (openssl rand -base64 32) here",
				"cfg.toml:3: http_address: unknown key; oauth2-proxy's http_address is [server] listen here",
				"cfg.toml:4: client_id: unknown key; it is a key of [provider]",
				"cfg.toml:5: skip-auth-regex: unknown key; oauth2-proxy's skip-auth-regex is a [[routes]] entry with public = true (a path glob, and methods) here",
				"cfg.toml:6: provider: must be a table, got string; oauth2-proxy's provider is [provider] kind here",
				"cfg.toml:6: provider.client_id: required",
				"cfg.toml:6: provider.issuer: required (or authorization_url, token_url and userinfo_url for plain OAuth 2.0)",
				"cfg.toml:7: upstreams[0]: must be a table, got string; oauth2-proxy's upstreams is [[upstreams]] entries (name, url), each named by [[routes]] entries here",
				"cfg.toml:7: server.public_url: required; the file has no [server] table",
				"cfg.toml:7: session.secrets: required (or secrets_file): generate one with `openssl rand -base64 32`; the file has no [session] table",
				"cfg.toml:7: upstreams: at least one [[upstreams]] entry is required",
				"cfg.toml:7: routes: at least one [[routes]] entry is required (nothing is allowed by default)",
			},
		},
		{
			name: "backend logout",
			doc:  base + "backend_logout_url = \"https://idp/logout?id_token_hint={id_token}\"\n",
			want: []string{
				"cfg.toml:17: routes[0].backend_logout_url: unknown key; oauth2-proxy's backend_logout_url is not needed: a sign-out goes through the provider's end-session endpoint and revokes the refresh token, each when the provider's discovery lists one; [provider] revoke_on_sign_out = false keeps the revocation out, as oauth2-proxy's sign-out does here",
			},
		},
		{
			name: "oauth2-proxy options a realistic config carries",
			doc: "pass_basic_auth = false\nset_authorization_header = true\nping_path = \"/ping\"\nready_path = \"/ready\"\n" +
				"silence_ping_logging = true\nskip_provider_button = true\napproval_prompt = \"force\"\nprompt = \"login\"\n" +
				"oidc_jwks_url = \"https://idp/jwks\"\nlogin_url = \"https://idp/authorize\"\nredeem_url = \"https://idp/token\"\n" +
				"profile_url = \"https://idp/userinfo\"\ninsecure_oidc_allow_unverified_email = true\ntrusted_ips = [\"10.0.0.0/8\"]\n",
			want: []string{
				"cfg.toml:1: pass_basic_auth: unknown key; oauth2-proxy's pass_basic_auth is not available: no password is sent; applications read [headers] user and email here",
				"cfg.toml:2: set_authorization_header: unknown key; oauth2-proxy's set_authorization_header is not available: no ID token is forwarded; verify [headers] assertion (signed) instead here",
				"cfg.toml:3: ping_path: unknown key; oauth2-proxy's ping_path is fixed: /healthz on [server] ops_listen, or prefix + /healthz on the serving port here",
				"cfg.toml:4: ready_path: unknown key; oauth2-proxy's ready_path is fixed: /readyz on [server] ops_listen here",
				"cfg.toml:5: silence_ping_logging: unknown key; oauth2-proxy's silence_ping_logging is not needed: the probes of [server] ops_listen are not logged here",
				"cfg.toml:6: skip_provider_button: unknown key; oauth2-proxy's skip_provider_button is always on: there is no sign-in page here",
				"cfg.toml:7: approval_prompt: unknown key; oauth2-proxy's approval_prompt is [provider] auth_params = { prompt = \"...\" } here",
				"cfg.toml:8: prompt: unknown key; oauth2-proxy's prompt is [provider] auth_params = { prompt = \"...\" } here",
				"cfg.toml:9: oidc_jwks_url: unknown key; oauth2-proxy's oidc_jwks_url is from the issuer's discovery here",
				"cfg.toml:10: login_url: unknown key; oauth2-proxy's login_url is [provider] authorization_url here",
				"cfg.toml:11: redeem_url: unknown key; oauth2-proxy's redeem_url is [provider] token_url here",
				"cfg.toml:12: profile_url: unknown key; oauth2-proxy's profile_url is [provider] userinfo_url here",
				"cfg.toml:13: insecure_oidc_allow_unverified_email: unknown key; oauth2-proxy's insecure_oidc_allow_unverified_email is not available: an email marked unverified never counts ([provider] assume_email_verified covers only a provider that leaves the claim out) here",
				"cfg.toml:14: trusted_ips: unknown key; oauth2-proxy's trusted_ips is not available: every request from those addresses would pass; write public routes instead here",
				"cfg.toml:14: server.public_url: required; the file has no [server] table",
				"cfg.toml:14: provider.client_id: required; the file has no [provider] table",
				"cfg.toml:14: provider.issuer: required (or authorization_url, token_url and userinfo_url for plain OAuth 2.0); the file has no [provider] table",
				"cfg.toml:14: session.secrets: required (or secrets_file): generate one with `openssl rand -base64 32`; the file has no [session] table",
				"cfg.toml:14: upstreams: at least one [[upstreams]] entry is required",
				"cfg.toml:14: routes: at least one [[routes]] entry is required (nothing is allowed by default)",
			},
		},
		{
			name: "a singular flag's name and the cookie's path",
			doc:  base + "trusted-ip = \"10.0.0.0/8\"\ncookie_path = \"/app\"\n",
			want: []string{
				"cfg.toml:17: routes[0].trusted-ip: unknown key; oauth2-proxy's trusted-ip is not available: every request from those addresses would pass; write public routes instead here",
				"cfg.toml:18: routes[0].cookie_path: unknown key; oauth2-proxy's cookie_path is not needed: the cookie's Path is / here",
			},
		},
		{
			name: "keys in the wrong table",
			doc: strings.Replace(strings.Replace(base, "[session]\n", "[session]\nlisten = \":1\"\n", 1),
				"client_id = \"client\"\n", "client_id = \"client\"\ncookie_domain = \"example.com\"\n", 1) +
				"email_domains = [\"example.com\"]\ntls_skip_verify = true\n",
			want: []string{
				"cfg.toml:7: provider.cookie_domain: unknown key; it is a key of [session]",
				"cfg.toml:10: session.listen: unknown key; it is a key of [server]",
				"cfg.toml:19: routes[0].email_domains: unknown key; oauth2-proxy's email_domains is allow_email_domains on a [[routes]] entry here",
				"cfg.toml:20: routes[0].tls_skip_verify: unknown key; it is a key of [[upstreams]]",
			},
		},
		{
			name: "oauth2-proxy's 16-byte cookie secret",
			doc:  strings.Replace(base, goodSecret, secret16, 1),
			want: []string{"cfg.toml:9: session.secrets[0]: secret is 16 bytes, need at least 32: generate one with `openssl rand -base64 32`"},
		},
		{
			name: "an environment variable without braces",
			doc:  strings.Replace(base, goodSecret, "$OAUTH2_PROXY_COOKIE_SECRET", 1),
			env:  map[string]string{"OAUTH2_PROXY_COOKIE_SECRET": goodSecret},
			want: []string{"cfg.toml:9: session.secrets[0]: secret is not base64 (27 characters); write ${NAME} to read an environment variable"},
		},
	}
	runProblemCases(t, dir, tests)
}

// TestOAuth2ProxyHintsNameRealKeys: every key an oauth2-proxy hint tells
// the user to write instead (allow_email_domains, redis_sentinel_addrs,
// ...) is one the decoder reads, or an X_file form of one (secrets_file):
// a hint naming a key that was renamed
// would send the user from one unknown key to another.
func TestOAuth2ProxyHintsNameRealKeys(t *testing.T) {
	keys := testenv.ConfigKeys(t, ".")
	key := regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)
	for opt, where := range oauth2ProxyOptions {
		for _, k := range key.FindAllString(where, -1) {
			if !slices.Contains(keys, k) && !slices.Contains(keys, strings.TrimSuffix(k, "_file")) {
				t.Errorf("oauth2-proxy's %s: the hint names %s, which is no key (%q)", opt, k, where)
			}
		}
	}
}

// TestMigrationGuideNamesEveryOption: every oauth2-proxy option that
// `portcullis check` answers with what to write instead is named, as its
// flag, in docs/oauth2-proxy.md, so that a team reading the guide before
// writing the file learns what check would tell it (and what has no
// equivalent) without a failed check first.
func TestMigrationGuideNamesEveryOption(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "oauth2-proxy.md"))
	if err != nil {
		t.Fatal(err)
	}
	singular := map[string]string{}
	for flag, plural := range oauth2ProxyFlagNames {
		singular[plural] = flag
	}
	for _, opt := range slices.Sorted(maps.Keys(oauth2ProxyOptions)) {
		name := opt
		if s, ok := singular[opt]; ok {
			name = s
		}
		flag := "--" + strings.ReplaceAll(name, "_", "-")
		if !regexp.MustCompile(regexp.QuoteMeta(flag) + `\b(?:[^-]|$)`).Match(b) {
			t.Errorf("docs/oauth2-proxy.md does not name %s (check answers it with %q)", flag, oauth2ProxyOptions[opt])
		}
	}
}
