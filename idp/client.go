package idp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/cache"
	"golang.org/x/oauth2"
)

// leeway is the clock skew allowed on exp, nbf and iat (docs/requests.md, identity).
const leeway = 30 * time.Second

// Client talks to one provider. It is safe for concurrent use. New does no
// I/O; Discover loads the provider metadata (serve retries it with backoff).
type Client struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	http    *http.Client
	metrics *metrics

	meta    atomic.Pointer[metadata]
	extras  []*trustedIssuer
	bearers *cache.Cache[[32]byte, *portcullis.Identity]
	jtis    *cache.Cache[[32]byte, struct{}]
	intro   introspector
	dir     *groupsDirectory // nil: groups come from the tokens only
	// entra: the provider is an Entra ID tenant (entraProvider), whatever
	// its kind: its bearer tokens follow Entra's rules.
	entra bool
	// warnedGroupNames: Entra ID's groups claim held names (logged once).
	warnedGroupNames atomic.Bool
	// formAuth: the plain OAuth 2.0 provider refused Basic and took the
	// client's credentials in the form (tokenRequest).
	formAuth atomic.Bool
}

// metadata is what discovery (or the configuration of a plain OAuth 2.0
// provider) tells about the provider. It is immutable once published.
type metadata struct {
	oauth            oauth2.Config
	userinfoURL      string
	introspectionURL string
	revocationURL    string
	endSessionURL    string
	issParameter     bool
	// formAuth is oauth with the client's credentials in the form, for a
	// plain OAuth 2.0 provider that refuses Basic (tokenRequest); nil when
	// the method is known.
	formAuth *oauth2.Config
	// introspectionAuth, revocationAuth: the method the endpoint's own
	// discovery metadata names; oauth2.AuthStyleAutoDetect, as the token
	// endpoint (clientAuth).
	introspectionAuth, revocationAuth oauth2.AuthStyle
	// OIDC only.
	primary    *trustedIssuer        // bearer tokens of the issuer
	idVerifier *oidc.IDTokenVerifier // ID and logout tokens (aud = client_id)
}

// New checks cfg and builds a Client without any network call.
func New(cfg Config) (*Client, error) {
	if err := defaults(&cfg); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Metrics)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: cfg.Logger, now: cfg.Now, metrics: m,
		bearers: newBearerCache(cfg.Now), jtis: newReplayCache(cfg.Now), intro: newIntrospector(cfg.Now),
		entra: entraProvider(cfg)}
	c.http = instrumentedClient(BackChannelClient(cfg.HTTPClient), m.providerDuration)
	dcfg := cfg
	dcfg.HTTPClient = c.http
	if c.dir, err = newDirectory(&dcfg); err != nil {
		return nil, err
	}
	for _, x := range cfg.ExtraIssuers {
		ti := c.newTrustedIssuer(x.Issuer, x.Audiences, x.JWKSURL, nil)
		ti.extra = true
		c.extras = append(c.extras, ti)
	}
	if !isOIDCKind(cfg.Kind) {
		// GitHub takes the client secret in the form; other plain OAuth 2.0
		// servers are probed (Basic first, RFC 6749 §2.3.1; tokenRequest).
		conf := func(style oauth2.AuthStyle) *oauth2.Config {
			return &oauth2.Config{
				ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
				Scopes: cfg.Scopes, Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthorizationURL,
					TokenURL: cfg.TokenURL, AuthStyle: style},
			}
		}
		m := &metadata{oauth: *conf(oauth2.AuthStyleInParams), userinfoURL: cfg.UserinfoURL, introspectionURL: cfg.IntrospectionURL}
		if cfg.Kind != "github" {
			m.oauth, m.formAuth = *conf(oauth2.AuthStyleInHeader), conf(oauth2.AuthStyleInParams)
		}
		c.meta.Store(m)
	}
	return c, nil
}

// defaults validates cfg and fills in the documented zero values.
func defaults(cfg *Config) error {
	if cfg.Kind == "" {
		cfg.Kind = "oauth2"
		if cfg.Issuer != "" {
			cfg.Kind = "oidc"
		}
	}
	if cfg.ClientID == "" {
		return fmt.Errorf("idp: client_id is required")
	}
	if v, ok := cfg.AuthParams["max_age"]; ok {
		if _, err := parseMaxAge(v); err != nil {
			return err
		}
	}
	if err := kindDefaults(cfg); err != nil {
		return err
	}
	if err := endpointDefaults(cfg); err != nil {
		return err
	}
	if err := checkURLs(cfg); err != nil {
		return err
	}
	for _, x := range cfg.ExtraIssuers {
		if x.Issuer == "" || len(x.Audiences) == 0 {
			return fmt.Errorf("idp: extra issuer %q needs an issuer and audiences", x.Issuer)
		}
	}
	zeroDefaults(cfg)
	return nil
}

// endpointDefaults checks and fills in what cfg.Kind needs: an issuer and
// OpenID scopes, GitHub's endpoints, scopes and user claim, or a plain
// OAuth 2.0 provider's three endpoints.
func endpointDefaults(cfg *Config) error {
	switch cfg.Kind {
	case "oidc", "google", "entra":
		if cfg.Issuer == "" {
			return fmt.Errorf("idp: kind %q needs an issuer", cfg.Kind)
		}
		if cfg.Scopes == nil {
			cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
		}
	case "github":
		cfg.AuthorizationURL = cmpOr(cfg.AuthorizationURL, "https://github.com/login/oauth/authorize")
		cfg.TokenURL = cmpOr(cfg.TokenURL, "https://github.com/login/oauth/access_token")
		cfg.UserinfoURL = cmpOr(cfg.UserinfoURL, "https://api.github.com/user")
		if cfg.Scopes == nil {
			cfg.Scopes = []string{"read:user", "user:email"}
		}
		cfg.UserClaim = cmpOr(cfg.UserClaim, "id")
	case "oauth2":
		if cfg.AuthorizationURL == "" || cfg.TokenURL == "" || cfg.UserinfoURL == "" {
			return fmt.Errorf("idp: kind %q needs authorization_url, token_url and userinfo_url", cfg.Kind)
		}
	default:
		return fmt.Errorf("idp: unknown provider kind %q", cfg.Kind)
	}
	return nil
}

// checkURLs refuses a configured issuer or endpoint that is not an
// absolute http(s) URL with a host.
func checkURLs(cfg *Config) error {
	for _, u := range []string{cfg.Issuer, cfg.AuthorizationURL, cfg.TokenURL, cfg.UserinfoURL, cfg.IntrospectionURL} {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Hostname() == "" {
			return fmt.Errorf("idp: %q is not an http(s) URL", u)
		}
	}
	return nil
}

// zeroDefaults fills in the documented values of the settings left zero:
// the claims' names, the audiences, the JWKS cooldown, the clock and the
// logger.
func zeroDefaults(cfg *Config) {
	cfg.UserClaim = cmpOr(cfg.UserClaim, "sub")
	cfg.EmailClaim = cmpOr(cfg.EmailClaim, "email")
	cfg.GroupsClaim = cmpOr(cfg.GroupsClaim, "groups")
	if len(cfg.Audiences) == 0 {
		cfg.Audiences = []string{cfg.ClientID}
	}
	if cfg.JWKSCooldown <= 0 {
		cfg.JWKSCooldown = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Ready reports whether metadata is loaded.
func (c *Client) Ready() bool { return c.meta.Load() != nil }

// Issuer is the configured issuer ("" for plain OAuth 2.0).
func (c *Client) Issuer() string { return c.cfg.Issuer }

// IssuerParameterSupported reports whether the provider advertises
// authorization_response_iss_parameter_supported (RFC 9207).
func (c *Client) IssuerParameterSupported() bool {
	m := c.meta.Load()
	return m != nil && m.issParameter
}

// providerCtx carries the instrumented HTTP client (for x/oauth2 and
// go-oidc alike) and the endpoint label of the requests made with it.
func (c *Client) providerCtx(ctx context.Context, endpoint string) context.Context {
	return oidc.ClientContext(withEndpoint(ctx, endpoint), c.http)
}

// NewPKCEVerifier mints the PKCE code verifier of one authorization
// request (RFC 7636 §4.1: 32 random bytes, base64url-encoded, 43
// characters), to be passed to AuthCodeURL and later to Exchange.
func NewPKCEVerifier() string { return oauth2.GenerateVerifier() }

// AuthCodeURL builds the authorization request with state, nonce and PKCE
// S256 challenge for verifier (RFC 7636 §4.2), which NewPKCEVerifier mints.
// scopes nil means the configured scopes; the nonce is sent to OIDC
// providers only.
func (c *Client) AuthCodeURL(state, nonce, verifier string, scopes []string) (string, error) {
	m := c.meta.Load()
	if m == nil {
		return "", ErrNotReady
	}
	conf := m.oauth
	if scopes != nil {
		conf.Scopes = scopes
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if c.isOIDC() {
		opts = append(opts, oidc.Nonce(nonce))
	}
	keys := make([]string, 0, len(c.cfg.AuthParams))
	for k := range c.cfg.AuthParams {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		opts = append(opts, oauth2.SetAuthURLParam(k, c.cfg.AuthParams[k]))
	}
	return conf.AuthCodeURL(state, opts...), nil
}

// EndSessionURL returns the RP-initiated logout URL (OpenID Connect
// RP-Initiated Logout 1.0 §2), or "" when the provider has no
// end_session_endpoint.
func (c *Client) EndSessionURL(idTokenHint, state, postLogoutRedirectURI string) string {
	m := c.meta.Load()
	if m == nil || m.endSessionURL == "" {
		return ""
	}
	u, err := url.Parse(m.endSessionURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", c.cfg.ClientID)
	if state != "" {
		q.Set("state", state)
	}
	if postLogoutRedirectURI != "" {
		q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Revocable reports whether the provider publishes a revocation endpoint
// (RFC 7009): without one, Revoke calls nothing and returns nil.
func (c *Client) Revocable() bool {
	m := c.meta.Load()
	return m != nil && m.revocationURL != ""
}

// Revoke revokes a refresh token (RFC 7009 §2.1, with the client
// authentication of clientAuth) when the provider has a revocation endpoint; it is a no-op
// otherwise.
func (c *Client) Revoke(ctx context.Context, refreshToken string) error {
	m := c.meta.Load()
	if m == nil || m.revocationURL == "" || refreshToken == "" {
		return nil
	}
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	status, _, err := c.postForm(c.providerCtx(ctx, "revocation"), m, m.revocationAuth, m.revocationURL, form)
	if err != nil {
		return fmt.Errorf("idp: revocation: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("idp: revocation: status %d", status)
	}
	return nil
}
