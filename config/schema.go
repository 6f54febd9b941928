package config

import "time"

// fileConfig is the TOML document of docs/configuration.md after decoding: typed, with
// ${VAR} expanded, X_file secrets read and defaults applied. It is not yet
// validated.
type fileConfig struct {
	Server    serverSection
	Provider  providerSection
	Session   sessionSection
	Headers   headersSection
	Log       logSection
	Branding  brandingSection
	Upstreams []upstreamSection
	Routes    []routeSection
}

type serverSection struct {
	Listen               string
	PublicURL            string
	Prefix               string
	OpsListen            string
	TrustedProxies       []string
	AllowedRedirectHosts []string
	TLSCertFile          string
	TLSKeyFile           string
	ShutdownTimeout      time.Duration
	Pprof                bool
	ShutdownDelay        time.Duration
	MaxConnections       int
	UpgradeIdleTimeout   time.Duration
}

type providerSection struct {
	Kind                string
	Issuer              string
	ClientID            string
	ClientSecret        string
	Scopes              []string
	ScopesSet           bool
	AuthParams          map[string]string
	UserClaim           string
	EmailClaim          string
	GroupsClaim         string
	Audiences           []string
	IDTokenAudiences    []string
	AssumeEmailVerified bool
	IntrospectionURL    string
	AuthorizationURL    string
	TokenURL            string
	UserinfoURL         string
	ExtraIssuers        []extraIssuerSection
	// RevokeOnSignOut: a sign-out revokes the session's refresh token at
	// the provider (RFC 7009). false revokes nothing; the redirect to the
	// provider's end-session endpoint is still made (docs/sessions.md).
	RevokeOnSignOut bool

	// Directory groups (docs/providers/).
	HostedDomain             string
	GoogleServiceAccountFile string
	GoogleAdminEmail         string
	GitHubAPIURL             string
	GroupsRefresh            time.Duration
	DirectoryURL             string
	// googleServiceAccountJSON is the key file's content, once validated.
	googleServiceAccountJSON []byte
}

type extraIssuerSection struct {
	path      string
	Issuer    string
	Audiences []string
	JWKSURL   string
}

type sessionSection struct {
	Store               string
	CookieName          string
	CookieDomain        string
	Secrets             []listEntry
	SecretsGiven        bool // secrets or secrets_file is present
	Lifetime            time.Duration
	Refresh             bool
	RefreshMargin       time.Duration
	RedisURL            string
	RedisClusterAddrs   []string
	RedisSentinelAddrs  []string
	RedisSentinelMaster string
	RedisUsername       string
	RedisPassword       string
	RedisTLSCAFile      string
}

type headersSection struct {
	User              string
	Email             string
	Groups            string
	PreferredUsername string
	AccessToken       string
	Assertion         string
	AssertionKeyFile  string
	Claims            map[string]string
}

type logSection struct {
	Format string
	Level  string
}

type brandingSection struct {
	Name       string
	LogoURL    string
	SupportURL string
}

type upstreamSection struct {
	path          string
	Name          string
	URL           string
	PreserveHost  bool
	Timeout       time.Duration
	FlushInterval time.Duration
	TLSCAFile     string
	TLSSkipVerify bool
	// AssertionAudience overrides the assertion's aud for this upstream.
	AssertionAudience string
}

type routeSection struct {
	path              string
	Name              string
	Host              string
	Path              string
	Methods           []string
	Upstream          string
	Public            bool
	Deny              bool
	RequireScopes     []string
	AllowGroups       []string
	AllowEmails       []string
	AllowEmailDomains []string
	RequireClaims     map[string]string
}

// Defaults of docs/configuration.md.
const (
	defaultListen    = ":4180"
	defaultOpsListen = ":9180"
	defaultPrefix    = "/oauth2"
	defaultShutdown  = 30 * time.Second
	defaultDelay     = 5 * time.Second
	// defaultMaxConnections bounds the gateway listener's client
	// connections (docs/security.md, "Memory bounds").
	defaultMaxConnections = 10000
	// defaultUpgradeIdle closes an upgraded connection silent both ways
	// (docs/configuration.md, upgrade_idle_timeout).
	defaultUpgradeIdle   = 5 * time.Minute
	defaultLifetime      = 12 * time.Hour
	defaultMargin        = time.Minute
	defaultTimeout       = 30 * time.Second
	defaultAssertion     = "X-Portcullis-Jwt-Assertion"
	defaultGroupsRefresh = 10 * time.Minute
	hostCookiePrefix     = "__Host-"
	secureCookiePrefix   = "__Secure-"
	plainCookieName      = "portcullis"
	githubAuthURL        = "https://github.com/login/oauth/authorize"
	githubTokenURL       = "https://github.com/login/oauth/access_token"
	githubUserinfoURL    = "https://api.github.com/user"
)

var (
	defaultScopes = []string{"openid", "email", "profile"}
	githubScopes  = []string{"read:user", "user:email", "read:org"}
	// offline_access: Entra ID issues refresh tokens only when asked;
	// User.Read: the access token is for Microsoft Graph (groups overage).
	entraScopes = []string{"openid", "email", "profile", "offline_access", "User.Read"}
)

// decodeFile reads the whole document into a fileConfig.
func (d *decoder) decodeFile(doc map[string]any) *fileConfig {
	root := d.newTable("", doc)
	fc := &fileConfig{
		Server:   d.decodeServer(root.sub("server")),
		Provider: d.decodeProvider(root.sub("provider")),
		Session:  d.decodeSession(root.sub("session")),
		Headers:  d.decodeHeaders(root.sub("headers")),
		Log:      d.decodeLog(root.sub("log")),
		Branding: d.decodeBranding(root.sub("branding")),
	}
	for _, t := range root.tables("upstreams") {
		fc.Upstreams = append(fc.Upstreams, d.decodeUpstream(t))
	}
	for _, t := range root.tables("routes") {
		fc.Routes = append(fc.Routes, d.decodeRoute(t))
	}
	root.finish()
	return fc
}

func (d *decoder) decodeServer(t *table) serverSection {
	defer t.finish()
	return serverSection{
		Listen:               t.str("listen", defaultListen),
		PublicURL:            t.str("public_url", ""),
		Prefix:               t.str("prefix", defaultPrefix),
		OpsListen:            t.str("ops_listen", defaultOpsListen),
		TrustedProxies:       t.strs("trusted_proxies"),
		AllowedRedirectHosts: t.strs("allowed_redirect_hosts"),
		TLSCertFile:          t.str("tls_cert_file", ""),
		TLSKeyFile:           t.str("tls_key_file", ""),
		ShutdownTimeout:      t.duration("shutdown_timeout", defaultShutdown, false),
		Pprof:                t.boolean("pprof", false),
		ShutdownDelay:        t.duration("shutdown_delay", defaultDelay, false),
		MaxConnections:       t.count("max_connections", defaultMaxConnections),
		UpgradeIdleTimeout:   t.duration("upgrade_idle_timeout", defaultUpgradeIdle, false),
	}
}

func (d *decoder) decodeProvider(t *table) providerSection {
	defer t.finish()
	p := providerSection{
		Kind:                t.str("kind", ""),
		Issuer:              t.str("issuer", ""),
		ClientID:            t.str("client_id", ""),
		ClientSecret:        t.secret("client_secret"),
		ScopesSet:           t.has("scopes"),
		Scopes:              t.strs("scopes"),
		AuthParams:          t.strMap("auth_params", false),
		UserClaim:           t.str("user_claim", "sub"),
		EmailClaim:          t.str("email_claim", "email"),
		GroupsClaim:         t.str("groups_claim", "groups"),
		Audiences:           t.strs("audiences"),
		IDTokenAudiences:    t.strs("id_token_audiences"),
		AssumeEmailVerified: t.boolean("assume_email_verified", false),
		IntrospectionURL:    t.str("introspection_url", ""),
		AuthorizationURL:    t.str("authorization_url", ""),
		TokenURL:            t.str("token_url", ""),
		UserinfoURL:         t.str("userinfo_url", ""),
		RevokeOnSignOut:     t.boolean("revoke_on_sign_out", true),

		HostedDomain:             t.str("hosted_domain", ""),
		GoogleServiceAccountFile: t.str("google_service_account_file", ""),
		GoogleAdminEmail:         t.str("google_admin_email", ""),
		GitHubAPIURL:             t.str("github_api_url", ""),
		GroupsRefresh:            t.duration("groups_refresh", defaultGroupsRefresh, true),
		DirectoryURL:             t.str("directory_url", ""),
	}
	for _, x := range t.tables("extra_issuers") {
		p.ExtraIssuers = append(p.ExtraIssuers, extraIssuerSection{
			path:      x.path,
			Issuer:    x.str("issuer", ""),
			Audiences: x.strs("audiences"),
			JWKSURL:   x.str("jwks_url", ""),
		})
		x.finish()
	}
	return p
}

func (d *decoder) decodeSession(t *table) sessionSection {
	defer t.finish()
	if raw, ok := t.m["redis_url"].(string); ok {
		d.noteInlineURL(t.key("redis_url"), raw)
	}
	return sessionSection{
		Store:               t.str("store", "cookie"),
		CookieName:          t.str("cookie_name", ""),
		CookieDomain:        t.str("cookie_domain", ""),
		SecretsGiven:        t.has("secrets") || t.has("secrets_file"),
		Secrets:             t.secretList("secrets"),
		Lifetime:            t.duration("lifetime", defaultLifetime, true),
		Refresh:             t.boolean("refresh", true),
		RefreshMargin:       t.duration("refresh_margin", defaultMargin, false),
		RedisURL:            t.str("redis_url", ""),
		RedisClusterAddrs:   t.strs("redis_cluster_addrs"),
		RedisSentinelAddrs:  t.strs("redis_sentinel_addrs"),
		RedisSentinelMaster: t.str("redis_sentinel_master", ""),
		RedisUsername:       t.str("redis_username", ""),
		RedisPassword:       t.secret("redis_password"),
		RedisTLSCAFile:      t.str("redis_tls_ca_file", ""),
	}
}

func (d *decoder) decodeHeaders(t *table) headersSection {
	defer t.finish()
	return headersSection{
		User:              t.str("user", "X-Forwarded-User"),
		Email:             t.str("email", "X-Forwarded-Email"),
		Groups:            t.str("groups", "X-Forwarded-Groups"),
		PreferredUsername: t.str("preferred_username", "X-Forwarded-Preferred-Username"),
		AccessToken:       t.str("access_token", ""),
		Assertion:         t.str("assertion", defaultAssertion),
		AssertionKeyFile:  t.str("assertion_key_file", ""),
		Claims:            t.strMap("claims", false),
	}
}

func (d *decoder) decodeLog(t *table) logSection {
	defer t.finish()
	return logSection{Format: t.str("format", "text"), Level: t.str("level", "info")}
}

func (d *decoder) decodeBranding(t *table) brandingSection {
	defer t.finish()
	return brandingSection{Name: t.str("name", ""), LogoURL: t.str("logo_url", ""), SupportURL: t.str("support_url", "")}
}

func (d *decoder) decodeUpstream(t *table) upstreamSection {
	defer t.finish()
	u := upstreamSection{
		path:          t.path,
		Name:          t.str("name", ""),
		URL:           t.str("url", ""),
		PreserveHost:  t.boolean("preserve_host", false),
		Timeout:       t.duration("timeout", defaultTimeout, true),
		FlushInterval: 0, // the standard library's default
		TLSCAFile:     t.str("tls_ca_file", ""),
		TLSSkipVerify: t.boolean("tls_skip_verify", false),

		AssertionAudience: t.str("assertion_audience", ""),
	}
	// get, not has: the key is known (for suggestions and hints) even
	// when the file leaves it out.
	if v, ok := t.get("flush_interval"); ok {
		if v, _ := v.(string); v != "" {
			u.FlushInterval, _, _ = t.anyDuration("flush_interval", 0) // negative: after every write
		} else {
			t.str("flush_interval", "") // "" = the default; still type-checked
		}
	}
	return u
}

func (d *decoder) decodeRoute(t *table) routeSection {
	defer t.finish()
	return routeSection{
		path:              t.path,
		Name:              t.str("name", ""),
		Host:              t.str("host", ""),
		Path:              t.str("path", ""),
		Methods:           t.strs("methods"),
		Upstream:          t.str("upstream", ""),
		Public:            t.boolean("public", false),
		Deny:              t.boolean("deny", false),
		RequireScopes:     t.strs("require_scopes"),
		AllowGroups:       t.strs("allow_groups"),
		AllowEmails:       t.strs("allow_emails"),
		AllowEmailDomains: t.strs("allow_email_domains"),
		RequireClaims:     t.strMap("require_claims", true),
	}
}
