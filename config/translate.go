package config

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/proxy"
	"github.com/portcullis/portcullis/session"
)

// build validates fc and translates it into a Config. The Config is only
// meaningful when no problem was recorded.
func (d *decoder) build(fc *fileConfig) *Config {
	pub, proxies := d.validateServer(&fc.Server)
	kind := d.validateProvider(&fc.Provider)
	d.checkOwnIssuer(pub, &fc.Provider)
	secrets, cookieName := d.validateSession(&fc.Session, pub)
	d.validateHeaders(&fc.Headers)
	d.validateLog(&fc.Log)
	branding := d.validateBranding(&fc.Branding)
	upstreams := d.validateUpstreams(fc.Upstreams)
	d.checkOwnUpstreams(&fc.Server, pub, fc.Upstreams)
	routes := d.validateRoutes(fc.Routes, upstreams, len(fc.Upstreams))
	table := d.compileRoutes(routes)
	d.warnAll(fc, kind, pub)

	cfg := d.gatewayConfig(fc, kind, pub, routes, cookieConfig(&fc.Session, cookieName, secrets, pub))
	cfg.Proxy = d.proxyConfig(fc, pub, proxies, upstreams, table, branding)
	addHeaderClaims(&cfg.Provider, fc.Headers.Claims)
	for _, u := range fc.Upstreams {
		cfg.upstreamAt = append(cfg.upstreamAt, Problem{File: d.file, Line: d.lineOf(u.path + ".url"), Key: u.path + ".url"})
	}
	if fc.Headers.AssertionKeyFile != "" {
		cfg.Proxy.AssertionKey, cfg.Proxy.AssertionPublishedKeys = d.signingKeys("headers.assertion_key_file", fc.Headers.AssertionKeyFile)
	}
	return cfg
}

// gatewayConfig translates [server], [provider], the routes, the session
// store and [log]; the cookie's binding names the provider and the
// cookie's scope.
func (d *decoder) gatewayConfig(fc *fileConfig, kind string, pub *url.URL, routes []policy.RouteConfig, cookie session.CookieConfig) *Config {
	s := &fc.Server
	cfg := &Config{
		Path:               d.file,
		Listen:             s.Listen,
		OpsListen:          s.OpsListen,
		TLSCertFile:        d.resolvePath(s.TLSCertFile),
		TLSKeyFile:         d.resolvePath(s.TLSKeyFile),
		ShutdownTimeout:    s.ShutdownTimeout,
		Pprof:              s.Pprof,
		ShutdownDelay:      s.ShutdownDelay,
		MaxConnections:     s.MaxConnections,
		UpgradeIdleTimeout: s.UpgradeIdleTimeout,
		Provider:           d.providerConfig(&fc.Provider, kind, pub, s.Prefix),
		Routes:             routes,
		SessionStore:       fc.Session.Store,
		Cookie:             cookie,
		Redis:              d.redisConfig(&fc.Session),
		LogFormat:          fc.Log.Format,
		LogLevel:           fc.Log.Level,
	}
	cfg.Cookie.Binding = providerBinding(cfg.Provider) + " " + cookieScope(cfg.Cookie.Domain, pub)
	cfg.Cookie.Client = providerClient(cfg.Provider)
	return cfg
}

// cookieConfig translates the session cookie's settings: Secure on an
// https public_url.
func cookieConfig(s *sessionSection, name string, secrets [][]byte, pub *url.URL) session.CookieConfig {
	return session.CookieConfig{
		Name:     name,
		Domain:   strings.TrimPrefix(s.CookieDomain, "."),
		Secure:   pub != nil && pub.Scheme == "https",
		Secrets:  secrets,
		Lifetime: s.Lifetime,
	}
}

// proxyConfig translates what the gateway's handler takes: [server]'s
// URLs and proxies, the upstreams, [headers], the session's refresh and
// lifetime, the compiled routes and the branding.
func (d *decoder) proxyConfig(fc *fileConfig, pub *url.URL, proxies []netip.Prefix, upstreams map[string]*url.URL, table *policy.Table, branding proxy.Branding) proxy.Config {
	return proxy.Config{
		PublicURL:            pub,
		Prefix:               fc.Server.Prefix,
		TrustedProxies:       proxies,
		AllowedRedirectHosts: lowerAll(fc.Server.AllowedRedirectHosts),
		Upstreams:            d.upstreamConfigs(fc.Upstreams, upstreams),
		Headers:              headerConfig(&fc.Headers),
		Refresh:              fc.Session.Refresh,
		RefreshMargin:        fc.Session.RefreshMargin,
		GroupsRefresh:        fc.Provider.GroupsRefresh,
		SignOutKeepsGrant:    !fc.Provider.RevokeOnSignOut,
		SessionLifetime:      fc.Session.Lifetime,
		Routes:               table,
		Branding:             branding,
	}
}

// addHeaderClaims adds the claim paths sent in headers to the provider's
// HeaderClaims: idp refuses at login a claim value that a header cannot
// carry, for the claims sent in headers too (docs/headers.md).
func addHeaderClaims(p *idp.Config, claims map[string]string) {
	for _, name := range sortedKeys(claims) {
		if path := claims[name]; path != "" && !slices.Contains(p.HeaderClaims, path) {
			p.HeaderClaims = append(p.HeaderClaims, path)
		}
	}
}

// warnAll records, in this order, the warnings about what the
// configuration lets happen that its author may not have meant. A warning
// refuses nothing.
func (d *decoder) warnAll(fc *fileConfig, kind string, pub *url.URL) {
	d.warnGroupCase(kind, fc.Routes)
	d.warnGitHubAppOrgs(&fc.Provider, kind, fc.Routes)
	d.warnUnderPrefix(fc.Server.Prefix, fc.Routes)
	d.warnOpenSignIn(&fc.Provider, kind, fc.Routes)
	d.warnOpenExtraIssuer(&fc.Provider, kind, fc.Routes)
	d.warnSharedAudience(&fc.Headers, pub, fc.Upstreams, fc.Routes)
	d.warnCookieReach(fc, kind, pub)
	d.warnLocalSignOut(&fc.Provider, &fc.Session)
	d.warnNoRefreshToken(&fc.Provider, kind, &fc.Session)
	d.warnKindGoogleIssuer(&fc.Provider, kind)
	d.warnEntraEmailRules(&fc.Provider, kind, fc.Routes)
	d.warnEntraGroupNames(&fc.Provider, kind, fc.Routes)
	d.warnMutableUserClaim(&fc.Provider, kind)
}

// requestedScopes is provider.scopes, else the kind's default scopes.
func requestedScopes(p *providerSection, kind string) []string {
	if p.ScopesSet {
		return p.Scopes
	}
	switch kind {
	case "github":
		return slices.Clone(githubScopes)
	case "entra":
		return slices.Clone(entraScopes)
	}
	return slices.Clone(defaultScopes)
}

// providerConfig translates [provider]; RedirectURL is public_url + prefix +
// "/callback", the redirect URI to register at the provider.
func (d *decoder) providerConfig(p *providerSection, kind string, pub *url.URL, prefix string) idp.Config {
	c := idp.Config{
		Kind:                kind,
		Issuer:              p.Issuer,
		ClientID:            p.ClientID,
		ClientSecret:        p.ClientSecret,
		AuthParams:          p.AuthParams,
		UserClaim:           p.UserClaim,
		EmailClaim:          p.EmailClaim,
		GroupsClaim:         p.GroupsClaim,
		Audiences:           p.Audiences,
		IDTokenAudiences:    p.IDTokenAudiences,
		AssumeEmailVerified: p.AssumeEmailVerified,
		IntrospectionURL:    p.IntrospectionURL,
		AuthorizationURL:    p.AuthorizationURL,
		TokenURL:            p.TokenURL,
		UserinfoURL:         p.UserinfoURL,

		HostedDomain:             p.HostedDomain,
		GoogleServiceAccountJSON: p.googleServiceAccountJSON,
		GoogleAdminEmail:         p.GoogleAdminEmail,
		GitHubAPIURL:             p.GitHubAPIURL,
		DirectoryURL:             p.DirectoryURL,
	}
	if pub != nil {
		c.RedirectURL = strings.TrimSuffix(pub.String(), "/") + prefix + "/callback"
	}
	c.Scopes = requestedScopes(p, kind)
	if len(c.Audiences) == 0 && p.ClientID != "" {
		c.Audiences = []string{p.ClientID}
	}
	if kind == "github" && p.GitHubAPIURL == "" {
		// With github_api_url (GitHub Enterprise Server), idp derives them.
		c.AuthorizationURL = orDefault(c.AuthorizationURL, githubAuthURL)
		c.TokenURL = orDefault(c.TokenURL, githubTokenURL)
		c.UserinfoURL = orDefault(c.UserinfoURL, githubUserinfoURL)
	}
	for _, x := range p.ExtraIssuers {
		c.ExtraIssuers = append(c.ExtraIssuers, idp.ExtraIssuer{Issuer: x.Issuer, Audiences: x.Audiences, JWKSURL: x.JWKSURL})
	}
	return c
}

// redisConfig translates the redis_* keys; the CA file is loaded only for
// store = "redis" (the cookie store ignores the keys).
func (d *decoder) redisConfig(s *sessionSection) session.RedisConfig {
	c := session.RedisConfig{
		URL:            s.RedisURL,
		ClusterAddrs:   s.RedisClusterAddrs,
		SentinelAddrs:  s.RedisSentinelAddrs,
		SentinelMaster: s.RedisSentinelMaster,
		Username:       s.RedisUsername,
		Password:       s.RedisPassword,
	}
	if s.Store == "redis" && s.RedisTLSCAFile != "" {
		c.RootCAs = d.caPool("session.redis_tls_ca_file", s.RedisTLSCAFile)
	}
	return c
}

func (d *decoder) upstreamConfigs(us []upstreamSection, urls map[string]*url.URL) []proxy.Upstream {
	out := make([]proxy.Upstream, 0, len(us))
	for _, u := range us {
		pu := proxy.Upstream{
			Name:          u.Name,
			URL:           urls[u.Name],
			PreserveHost:  u.PreserveHost,
			Timeout:       u.Timeout,
			FlushInterval: u.FlushInterval,
			TLSSkipVerify: u.TLSSkipVerify,

			AssertionAudience: u.AssertionAudience,
		}
		if u.TLSCAFile != "" {
			pu.RootCAs = d.caPool(u.path+".tls_ca_file", u.TLSCAFile)
		}
		out = append(out, pu)
	}
	return out
}

func headerConfig(h *headersSection) proxy.Headers {
	return proxy.Headers{
		User:              h.User,
		Email:             h.Email,
		Groups:            h.Groups,
		PreferredUsername: h.PreferredUsername,
		AccessToken:       h.AccessToken,
		Assertion:         h.Assertion,
		Claims:            h.Claims,
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func lowerAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.ToLower(v)
	}
	return out
}

// cookieScope names the hosts a browser sends the gateway's cookies to:
// the cookie_domain, else public_url's host (host-only cookies; ports are
// not told apart by browsers). Sealed cookies are bound to it as to the
// provider, so gateways that share the provider and the secrets but not
// their cookies open none of each other's: a cookie one of them handed an
// application (forward-auth passes the Cookie header on) does not sign in
// at the other (docs/sessions.md). Replicas share it.
func cookieScope(domain string, pub *url.URL) string {
	if domain != "" {
		return "domain " + strings.ToLower(domain)
	}
	if pub == nil {
		return "host-only"
	}
	return "host-only " + strings.TrimSuffix(strings.ToLower(pub.Hostname()), ".")
}

// providerBinding names the provider sessions are bound to (its issuer, or
// authorization endpoint, and client_id) and the terms on which it let
// them in (identityTerms): session.CookieConfig.Binding.
func providerBinding(p idp.Config) string {
	return providerClient(p) + " " + identityTerms(p)
}

// providerClient names the provider client the gateway signs in with: its
// issuer, or authorization endpoint, and client_id. The provider tells
// each client of its own logouts, so the Redis index that a logout reads
// is named by it (session.CookieConfig.Client).
func providerClient(p idp.Config) string {
	return p.Issuer + " " + p.AuthorizationURL + " " + p.ClientID
}

// identityTerms are the [provider] settings a session's identity was made
// by or admitted under: how the user, email and groups are read from the
// claims, whether an email counts as verified, the Google domain, whether
// groups come from a directory, the scopes asked for, and the acr_values
// and max_age the sign-in checked. A session keeps the identity its
// sign-in or last refresh derived, so a reload that changed one of them
// (groups_claim from a claim users can edit to one they cannot,
// assume_email_verified turned off) kept deciding the session's requests
// by the old terms until its next refresh, or its lifetime with a provider
// that states no token expiry. Bound to them, such a session no longer
// opens: the user signs in again under the new terms.
func identityTerms(p idp.Config) string {
	scopes := slices.Sorted(slices.Values(p.Scopes))
	terms, _ := json.Marshal([]any{p.Kind, p.UserClaim, p.EmailClaim, p.GroupsClaim,
		p.AssumeEmailVerified, p.HostedDomain, len(p.GoogleServiceAccountJSON) > 0,
		scopes, p.AuthParams["acr_values"], p.AuthParams["max_age"]})
	if p.EmailClaim != "" && p.EmailClaim != "email" {
		// email_verified counts for such an email_claim only where the
		// email claim holds the same address; a session signed in when it
		// counted for any may hold an address nobody verified, so these
		// terms are new and such a session signs in again. The default
		// email_claim's terms are unchanged: its sessions stay.
		return "identity " + string(terms) + " email_verified-of-email"
	}
	return "identity " + string(terms)
}
