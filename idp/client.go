package idp

import (
	"context"

	"github.com/portcullis/portcullis"
)

// Client talks to one provider. It is safe for concurrent use. New does no
// I/O; Discover loads the provider metadata (serve retries it with backoff).
type Client struct {
	cfg Config
}

// New checks cfg and builds a Client without any network call.
func New(cfg Config) (*Client, error) { panic("not implemented") }

// Discover loads provider metadata (OIDC discovery, JWKS set-up). Plain OAuth
// 2.0 and GitHub clients are ready without it.
func (c *Client) Discover(ctx context.Context) error { panic("not implemented") }

// Ready reports whether metadata is loaded.
func (c *Client) Ready() bool { panic("not implemented") }

// Issuer is the configured issuer ("" for plain OAuth 2.0).
func (c *Client) Issuer() string { return c.cfg.Issuer }

// IssuerParameterSupported reports whether the provider advertises
// authorization_response_iss_parameter_supported (RFC 9207).
func (c *Client) IssuerParameterSupported() bool { panic("not implemented") }

// AuthCodeURL builds the authorization request with state, nonce and PKCE
// S256 challenge for verifier. scopes nil means the configured scopes.
func (c *Client) AuthCodeURL(state, nonce, verifier string, scopes []string) (string, error) {
	panic("not implemented")
}

// Exchange redeems code with the PKCE verifier, verifies the ID token in full
// (OIDC Core 3.1.3.7, including nonce and at_hash), completes the claims from
// userinfo and returns the tokens and identity.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (*Tokens, *portcullis.Identity, error) {
	panic("not implemented")
}

// Refresh uses a refresh token. A refused grant, or an identity whose sub or
// iss changed from prev, returns an error wrapping ErrInvalidGrant.
func (c *Client) Refresh(ctx context.Context, refreshToken string, prev *portcullis.Identity) (*Tokens, *portcullis.Identity, error) {
	panic("not implemented")
}

// VerifyBearer verifies an access token presented as a bearer token (JWT or,
// via introspection, opaque) and returns its identity with Expiry set.
// Results are cached until the token expires. Failures wrap ErrInvalidToken.
func (c *Client) VerifyBearer(ctx context.Context, token string) (*portcullis.Identity, error) {
	panic("not implemented")
}

// Revoke revokes a refresh token (RFC 7009) when the provider has a
// revocation endpoint; it is a no-op otherwise.
func (c *Client) Revoke(ctx context.Context, refreshToken string) error { panic("not implemented") }

// EndSessionURL returns the RP-initiated logout URL, or "" when the provider
// has no end_session_endpoint.
func (c *Client) EndSessionURL(idTokenHint, state, postLogoutRedirectURI string) string {
	panic("not implemented")
}

// VerifyLogoutToken verifies a back-channel logout token (OIDC Back-Channel
// Logout 1.0 §2.6) and returns the sub and/or sid it names.
func (c *Client) VerifyLogoutToken(ctx context.Context, raw string) (sub, sid string, err error) {
	panic("not implemented")
}
