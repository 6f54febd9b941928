package config

import "strings"

// oauth2ProxyOptions maps oauth2-proxy's option names (its config file's
// keys; its flags read the same with '-' for '_') to where this file says
// the same, so that a key carried over from an oauth2-proxy configuration
// is answered with what to write instead (docs/oauth2-proxy.md). Names that
// are also keys here (client_id, cookie_name, ...) are answered with their
// table by keyTables instead.
var oauth2ProxyOptions = map[string]string{
	"email_domains":                        "allow_email_domains on a [[routes]] entry",
	"authenticated_emails_file":            "allow_emails on a [[routes]] entry",
	"allowed_groups":                       "allow_groups on a [[routes]] entry",
	"allowed_roles":                        "allow_groups on a [[routes]] entry, with [provider] groups_claim naming the roles",
	"github_org":                           `allow_groups = ["org"] on a [[routes]] entry, with [provider] kind = "github"`,
	"github_team":                          `allow_groups = ["org/team"] on a [[routes]] entry, with [provider] kind = "github"`,
	"google_groups":                        "allow_groups on a [[routes]] entry, with [provider] google_service_account_file",
	"gitlab_groups":                        "allow_groups on a [[routes]] entry",
	"skip_auth_routes":                     "a [[routes]] entry with public = true (a path glob, and methods)",
	"skip_auth_regex":                      "a [[routes]] entry with public = true (a path glob, and methods)",
	"skip_auth_preflight":                  `a [[routes]] entry with public = true and methods = ["OPTIONS"]`,
	"skip_jwt_bearer_tokens":               "always on: bearer tokens whose aud is in [provider] audiences are accepted",
	"extra_jwt_issuers":                    "[[provider.extra_issuers]] entries",
	"oidc_extra_audiences":                 "[provider] audiences",
	"reverse_proxy":                        "[server] trusted_proxies",
	"whitelist_domains":                    "[server] allowed_redirect_hosts",
	"http_address":                         "[server] listen",
	"https_address":                        "[server] listen with tls_cert_file and tls_key_file",
	"metrics_address":                      "[server] ops_listen",
	"proxy_prefix":                         "[server] prefix",
	"redirect_url":                         "derived: [server] public_url + prefix + /callback",
	"provider":                             "[provider] kind",
	"oidc_issuer_url":                      "[provider] issuer",
	"scope":                                "[provider] scopes (a list)",
	"oidc_email_claim":                     "[provider] email_claim",
	"oidc_groups_claim":                    "[provider] groups_claim",
	"user_id_claim":                        "[provider] user_claim",
	"prefer_email_to_user":                 `[provider] user_claim = "email"`,
	"cookie_secret":                        "[session] secrets, a list of new secrets of at least 32 random bytes (openssl rand -base64 32)",
	"cookie_secret_file":                   "[session] secrets_file",
	"cookie_domains":                       "[session] cookie_domain (one domain)",
	"cookie_expire":                        "[session] lifetime",
	"cookie_refresh":                       "[session] refresh and refresh_margin",
	"session_store_type":                   "[session] store",
	"redis_connection_url":                 "[session] redis_url",
	"redis_sentinel_connection_urls":       "[session] redis_sentinel_addrs",
	"redis_sentinel_master_name":           "[session] redis_sentinel_master",
	"redis_cluster_connection_urls":        "[session] redis_cluster_addrs",
	"redis_use_sentinel":                   "implied by [session] redis_sentinel_addrs",
	"redis_use_cluster":                    "implied by [session] redis_cluster_addrs",
	"redis_ca_path":                        "[session] redis_tls_ca_file",
	"upstreams":                            "[[upstreams]] entries (name, url), each named by [[routes]] entries",
	"pass_host_header":                     "preserve_host on an [[upstreams]] entry",
	"ssl_upstream_insecure_skip_verify":    "tls_skip_verify on an [[upstreams]] entry",
	"upstream_timeout":                     "timeout on an [[upstreams]] entry",
	"pass_access_token":                    "[headers] access_token",
	"pass_authorization_header":            `[headers] assertion (signed), or access_token = "Authorization"`,
	"pass_user_headers":                    "always on: the names are set in [headers]",
	"set_xauthrequest":                     "always on in forward-auth answers",
	"pass_basic_auth":                      "not available: no password is sent; applications read [headers] user and email",
	"set_basic_auth":                       "not available: no password is sent; applications read [headers] user and email",
	"set_authorization_header":             "not available: no ID token is forwarded; verify [headers] assertion (signed) instead",
	"ping_path":                            "fixed: /healthz on [server] ops_listen, or prefix + /healthz on the serving port",
	"ready_path":                           "fixed: /readyz on [server] ops_listen",
	"silence_ping_logging":                 "not needed: the probes of [server] ops_listen are not logged",
	"skip_provider_button":                 "always on: there is no sign-in page",
	"approval_prompt":                      `[provider] auth_params = { prompt = "..." }`,
	"prompt":                               `[provider] auth_params = { prompt = "..." }`,
	"oidc_jwks_url":                        "from the issuer's discovery",
	"login_url":                            "[provider] authorization_url",
	"redeem_url":                           "[provider] token_url",
	"profile_url":                          "[provider] userinfo_url",
	"insecure_oidc_allow_unverified_email": "not available: an email marked unverified never counts ([provider] assume_email_verified covers only a provider that leaves the claim out)",
	"trusted_ips":                          "not available: every request from those addresses would pass; write public routes instead",
	"cookie_secure":                        "not needed: the cookie is Secure on https, HttpOnly and SameSite=Lax",
	"cookie_httponly":                      "not needed: the cookie is Secure on https, HttpOnly and SameSite=Lax",
	"cookie_samesite":                      "not needed: the cookie is Secure on https, HttpOnly and SameSite=Lax",
	"cookie_path":                          "not needed: the cookie's Path is /",
	"backend_logout_url":                   "not needed: a sign-out goes through the provider's end-session endpoint and revokes the refresh token, each when the provider's discovery lists one; [provider] revoke_on_sign_out = false keeps the revocation out, as oauth2-proxy's sign-out does",
}

// oauth2ProxyFlagNames are the options whose flag is singular (given once
// per value) while the config file's key is plural.
var oauth2ProxyFlagNames = map[string]string{
	"email_domain":        "email_domains",
	"allowed_group":       "allowed_groups",
	"allowed_role":        "allowed_roles",
	"google_group":        "google_groups",
	"gitlab_group":        "gitlab_groups",
	"skip_auth_route":     "skip_auth_routes",
	"whitelist_domain":    "whitelist_domains",
	"oidc_extra_audience": "oidc_extra_audiences",
	"cookie_domain":       "cookie_domains",
	"upstream":            "upstreams",
	"trusted_ip":          "trusted_ips",
}

// oauth2ProxyHint returns "; oauth2-proxy's K is ..." when k (with '-' read
// as '_', as in a flag's name) is an oauth2-proxy option, else "".
func oauth2ProxyHint(k string) string {
	name := strings.ReplaceAll(k, "-", "_")
	if plural, ok := oauth2ProxyFlagNames[name]; ok {
		name = plural
	}
	where, ok := oauth2ProxyOptions[name]
	if !ok {
		return ""
	}
	return "; oauth2-proxy's " + k + " is " + where + " here"
}
