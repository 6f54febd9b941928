// Package idp is everything that talks to the identity provider: discovery,
// the authorization request (state, nonce, PKCE), code exchange, ID-token
// verification, userinfo, refresh, revocation, end-session, bearer-token
// verification (JWKS, RFC 7662 introspection) and logout-token verification.
package idp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/portcullis/portcullis/idp/directory"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Client. Zero values are documented per field.
type Config struct {
	Kind         string // "oidc", "oauth2", "github", "google" or "entra" (already defaulted by config)
	Issuer       string // OIDC issuer; everything else from discovery
	ClientID     string
	ClientSecret string
	RedirectURL  string   // public_url + prefix + "/callback"
	Scopes       []string // default scopes of the authorization request
	AuthParams   map[string]string

	UserClaim   string   // default "sub"
	EmailClaim  string   // default "email"
	GroupsClaim string   // default "groups"; dotted paths reach nested claims
	Audiences   []string // accepted aud of bearer tokens; default [ClientID]
	// IDTokenAudiences are audiences besides the client ID and Audiences
	// that an ID or back-channel logout token may name; they admit no
	// bearer token.
	IDTokenAudiences    []string
	AssumeEmailVerified bool
	IntrospectionURL    string // overrides discovery
	// HeaderClaims are the claim paths sent upstream in headers ([headers]
	// claims). Like the user, email, preferred_username and groups values,
	// a value of one that HeaderValue refuses fails the login or the bearer
	// token, so it never reaches the forwarding step.
	HeaderClaims []string

	// Plain OAuth 2.0 (no discovery).
	AuthorizationURL string
	TokenURL         string
	UserinfoURL      string

	ExtraIssuers []ExtraIssuer

	// Directory groups (docs/providers/). HostedDomain (kind google) is the
	// Workspace domain the ID token's hd claim must name.
	HostedDomain string
	// GoogleServiceAccountJSON is the service account's JSON key (read by
	// config); when set, kind google reads groups from Google's directory.
	GoogleServiceAccountJSON []byte
	// GoogleAdminEmail selects the Admin SDK with domain-wide delegation
	// ("" = the Cloud Identity Groups API).
	GoogleAdminEmail string
	GitHubAPIURL     string // kind github: API base ("" = https://api.github.com)
	DirectoryURL     string // base URL of Google's or Graph's API ("" = the public one)
	// Directory replaces the directory source of the kind (tests).
	Directory directory.Source

	// ReplayGuard, when set, records a logout token's jti (under key) as
	// used across all replicas until until (the redis store's FirstUse),
	// once its logout took effect (MarkLogoutTokenUsed).
	ReplayGuard func(ctx context.Context, key string, until time.Time) (bool, error)
	// ReplaySeen, when set, reports whether ReplayGuard recorded key on any
	// replica (VerifyLogoutToken asks it; an error refuses the token).
	ReplaySeen func(ctx context.Context, key string) (bool, error)

	// JWKSCooldown is the least time between two JWKS fetches triggered by
	// an unknown kid (default 30s).
	JWKSCooldown time.Duration

	// HTTPClient is copied at New and the copy makes every call to the
	// provider, with its redirect rule replaced: redirects are never
	// followed (see BackChannelClient). nil = a client with a 10 s timeout.
	HTTPClient *http.Client
	Now        func() time.Time      // nil = time.Now
	Logger     *slog.Logger          // nil = discard
	Metrics    prometheus.Registerer // nil = no metrics
}

// ExtraIssuer is an issuer trusted for bearer tokens only (machine clients).
type ExtraIssuer struct {
	Issuer    string
	Audiences []string
	JWKSURL   string // "" = from discovery
}

// Tokens is the result of a code exchange or refresh.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	IDToken      string
	Expiry       time.Time // zero when the provider states none
	// Scopes are the granted scopes: the token response's scope; without
	// one, at a login the access token's scope or its introspection
	// (grantedScopes), at a refresh the ones granted before.
	Scopes []string
	// GroupsReadAt is when the identity's groups were read from the
	// provider's directory; zero when they came from the tokens.
	GroupsReadAt time.Time
}

// Errors callers branch on.
var (
	// ErrNotReady means provider discovery has not succeeded yet.
	ErrNotReady = errors.New("idp: provider metadata not loaded")
	// ErrInvalidGrant means the provider refused a refresh token (RFC 6749
	// §5.2 invalid_grant) or the refreshed identity changed: end the session.
	ErrInvalidGrant = errors.New("idp: grant refused")
	// ErrCodeRefused means the token endpoint refused a callback's
	// authorization code (RFC 6749 §5.2 invalid_grant): made up, expired,
	// already redeemed, or bound to another login's PKCE challenge. The
	// callback is at fault, not the provider's answer.
	ErrCodeRefused = errors.New("idp: authorization code refused")
	// ErrInvalidToken means a bearer or logout token failed verification.
	ErrInvalidToken = errors.New("idp: invalid token")
	// ErrUnavailable means the provider could not be asked (network error,
	// 5xx) where its answer decides, e.g. RFC 7662 introspection: answer 503,
	// not 401. It never wraps ErrInvalidToken.
	ErrUnavailable = errors.New("idp: provider unavailable")
)
