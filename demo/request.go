package demo

import (
	"crypto/rsa"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is one authorization request (OpenID Connect Core 3.1.2.1)
// between its arrival at /authorize and the redemption of its code.
type authRequest struct {
	id           string
	created      time.Time
	clientID     string
	redirectURI  string
	state        string
	nonce        string
	scopes       []string
	responseType oidc.ResponseType
	responseMode oidc.ResponseMode
	challenge    *oidc.CodeChallenge

	subject  string // set by the login page
	done     bool
	authTime time.Time
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string    { return a.id }
func (a *authRequest) GetACR() string   { return "" }
func (a *authRequest) GetNonce() string { return a.nonce }
func (a *authRequest) GetState() string { return a.state }
func (a *authRequest) Done() bool       { return a.done }

// GetAMR reports password authentication (RFC 8176 "pwd") once the login
// page has checked the password.
func (a *authRequest) GetAMR() []string {
	if a.done {
		return []string{"pwd"}
	}
	return nil
}

func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetSubject() string                    { return a.subject }

// accessToken is the server-side record of an issued access token; the JWT
// handed out carries its id as `jti`, so revocation and userinfo can find it.
type accessToken struct {
	id        string
	clientID  string
	subject   string
	audience  []string
	scopes    []string
	expires   time.Time
	refreshID string // the refresh token issued with it, if any
}

// refreshToken is an opaque, single-use refresh token (rotated on every use,
// RFC 9700 4.14.2). Its value is its id.
type refreshToken struct {
	id       string
	clientID string
	subject  string
	audience []string
	scopes   []string
	amr      []string
	authTime time.Time
	expires  time.Time
	accessID string
}

// refreshRequest adapts a refreshToken to op.RefreshTokenRequest; it is a
// copy, so op's SetCurrentScopes never races with the store.
type refreshRequest struct {
	token refreshToken
}

var _ op.RefreshTokenRequest = (*refreshRequest)(nil)

func (r *refreshRequest) GetAMR() []string            { return r.token.amr }
func (r *refreshRequest) GetAudience() []string       { return r.token.audience }
func (r *refreshRequest) GetAuthTime() time.Time      { return r.token.authTime }
func (r *refreshRequest) GetClientID() string         { return r.token.clientID }
func (r *refreshRequest) GetScopes() []string         { return r.token.scopes }
func (r *refreshRequest) GetSubject() string          { return r.token.subject }
func (r *refreshRequest) SetCurrentScopes(s []string) { r.token.scopes = s }

// client is the gateway, registered as one confidential web client
// (RFC 6749 2.1) with exactly its callback and signed-out URIs.
type client struct {
	id             string
	secret         string
	redirectURIs   []string
	postLogoutURIs []string
	loginURL       func(requestID string) string
	idTokenTTL     time.Duration
}

var _ op.Client = (*client)(nil)

func (c *client) GetID() string                    { return c.id }
func (c *client) RedirectURIs() []string           { return c.redirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.postLogoutURIs }
func (c *client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string { return c.loginURL(id) }

// AccessTokenType is JWT, so the gateway can also verify the demo's access
// tokens as bearer tokens (they carry `scope`, `groups` and `email`).
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return c.idTokenTTL }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed admits the non-standard "groups" scope besides the OpenID
// Connect ones op always accepts.
func (c *client) IsScopeAllowed(scope string) bool { return scope == scopeGroups }

// IDTokenUserinfoClaimsAssertion puts the profile, email and groups claims in
// the ID token even though an access token is issued (Core 5.4 lets the OP
// choose), because relying parties read `groups` and `email_verified` there.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// signingKey is the provider's RS256 key, generated at start.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is signingKey's public half, as published in the JWKS.
type publicKey struct{ k *signingKey }

func (p publicKey) ID() string                         { return p.k.id }
func (p publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p publicKey) Use() string                        { return "sig" }
func (p publicKey) Key() any                           { return &p.k.key.PublicKey }
