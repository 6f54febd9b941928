package demo

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// scopeGroups is the non-standard scope that releases the `groups` claim.
const scopeGroups = "groups"

// Lifetimes of the provider's short-lived records.
const (
	authRequestTTL  = 10 * time.Minute // login form to callback
	codeTTL         = 2 * time.Minute  // RFC 6749 4.1.2: short, single use
	refreshTokenTTL = 12 * time.Hour
	idTokenTTL      = time.Hour
)

// storage is the in-memory op.Storage of the demo provider: one client, the
// demo users, and the requests and tokens in flight. It is safe for
// concurrent use.
type storage struct {
	now       func() time.Time
	client    *client
	users     *userDirectory
	key       *signingKey
	accessTTL time.Duration

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]codeEntry
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
}

type codeEntry struct {
	requestID string
	expires   time.Time
}

var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanGetPrivateClaimsFromRequest = (*storage)(nil)
)

func newStorage(c *client, users *userDirectory, key *signingKey, accessTTL time.Duration, now func() time.Time) *storage {
	return &storage{
		now: now, client: c, users: users, key: key, accessTTL: accessTTL,
		requests: map[string]*authRequest{},
		codes:    map[string]codeEntry{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
	}
}

// newID returns an unguessable identifier (130 random bits, base32).
func newID() string { return rand.Text() }

var errNotFound = errors.New("demo: not found or expired")

// CreateAuthRequest stores a validated authorization request. The demo
// requires PKCE with S256 (RFC 7636 4.2, RFC 9700 2.1.1) and, having no
// provider-side session, answers prompt=none with login_required (Core 3.1.2.6).
func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(r.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method=S256 is required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.pruneLocked(now)
	req := &authRequest{
		id: newID(), created: now, clientID: r.ClientID, redirectURI: r.RedirectURI,
		state: r.State, nonce: r.Nonce, scopes: slices.Clone(r.Scopes),
		responseType: r.ResponseType, responseMode: r.ResponseMode,
		challenge: &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod},
	}
	s.requests[req.id] = req
	return req, nil
}

// pruneLocked drops expired requests, codes and tokens; s.mu is held.
func (s *storage) pruneLocked(now time.Time) {
	for id, r := range s.requests {
		if now.Sub(r.created) > authRequestTTL {
			delete(s.requests, id)
		}
	}
	for c, e := range s.codes {
		if now.After(e.expires) {
			delete(s.codes, c)
		}
	}
	for id, t := range s.access {
		if now.After(t.expires) {
			delete(s.access, id)
		}
	}
	for id, t := range s.refresh {
		if now.After(t.expires) {
			delete(s.refresh, id)
		}
	}
}

// requestLocked returns the live request id; s.mu is held.
func (s *storage) requestLocked(id string) (*authRequest, error) {
	r, ok := s.requests[id]
	if !ok || s.now().Sub(r.created) > authRequestTTL {
		return nil, errNotFound
	}
	return r, nil
}

// AuthRequestByID returns a live authorization request.
func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requestLocked(id)
}

// AuthRequestByCode returns the request a live code was issued for.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.codes[code]
	if !ok || s.now().After(e.expires) {
		return nil, errNotFound
	}
	return s.requestLocked(e.requestID)
}

// SaveAuthCode records the code issued for request id.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = codeEntry{requestID: id, expires: s.now().Add(codeTTL)}
	return nil
}

// DeleteAuthRequest forgets a request and its code once tokens were issued,
// which makes the code single-use (RFC 6749 4.1.2).
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, e := range s.codes {
		if e.requestID == id {
			delete(s.codes, c)
		}
	}
	return nil
}

// complete marks request id as authenticated by user (called by the login page).
func (s *storage) complete(id string, u User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.requestLocked(id)
	if err != nil {
		return err
	}
	r.subject, r.done, r.authTime = u.Name, true, s.now()
	return nil
}

// tokenRequestInfo returns what a token record needs from op's request.
func tokenRequestInfo(r op.TokenRequest) (clientID string, amr []string, authTime time.Time) {
	switch r := r.(type) {
	case *authRequest:
		return r.clientID, r.GetAMR(), r.authTime
	case *refreshRequest:
		return r.token.clientID, r.token.amr, r.token.authTime
	}
	return "", nil, time.Time{}
}

// newAccessLocked records a new access token; s.mu is held.
func (s *storage) newAccessLocked(r op.TokenRequest, refreshID string) *accessToken {
	clientID, _, _ := tokenRequestInfo(r)
	t := &accessToken{
		id: newID(), clientID: clientID, subject: r.GetSubject(),
		audience: slices.Clone(r.GetAudience()), scopes: slices.Clone(r.GetScopes()),
		expires: s.now().Add(s.accessTTL), refreshID: refreshID,
	}
	s.access[t.id] = t
	return t
}

// CreateAccessToken issues an access token without a refresh token.
func (s *storage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	if _, ok := r.(*authRequest); !ok {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.newAccessLocked(r, "")
	return t.id, t.expires, nil
}

// CreateAccessAndRefreshTokens issues an access token and a refresh token.
// With current set it is a refresh grant: the presented token is consumed
// and replaced (rotation, RFC 9700 4.14.2), so a replayed one fails.
func (s *storage) CreateAccessAndRefreshTokens(_ context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	clientID, amr, authTime := tokenRequestInfo(r)
	if clientID == "" {
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if current != "" {
		old, ok := s.refresh[current]
		if !ok || now.After(old.expires) || old.clientID != clientID {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or expired")
		}
		delete(s.refresh, current)
		delete(s.access, old.accessID)
	}
	rt := &refreshToken{
		id: newID(), clientID: clientID, subject: r.GetSubject(),
		audience: slices.Clone(r.GetAudience()), scopes: slices.Clone(r.GetScopes()),
		amr: amr, authTime: authTime, expires: now.Add(refreshTokenTTL),
	}
	at := s.newAccessLocked(r, rt.id)
	rt.accessID = at.id
	s.refresh[rt.id] = rt
	return at.id, rt.id, at.expires, nil
}

// TokenRequestByRefreshToken returns a copy of a live refresh token's grant.
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[token]
	if !ok || s.now().After(t.expires) {
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token is invalid or expired")
	}
	c := *t
	c.scopes = slices.Clone(t.scopes)
	return &refreshRequest{token: c}, nil
}

// TerminateSession ends a user's tokens at a client (RP-initiated logout).
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.access {
		if t.subject == userID && t.clientID == clientID {
			delete(s.access, id)
		}
	}
	for id, t := range s.refresh {
		if t.subject == userID && t.clientID == clientID {
			delete(s.refresh, id)
		}
	}
	return nil
}

// RevokeToken revokes an access token (by its id) or a refresh token (by
// value) together with the token issued alongside it (RFC 7009 2.1). An
// unknown token is not an error (RFC 7009 2.2).
func (s *storage) RevokeToken(_ context.Context, token, _, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.access[token]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.access, token)
		return nil
	}
	if t, ok := s.refresh[token]; ok {
		if t.clientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		delete(s.refresh, token)
		delete(s.access, t.accessID)
	}
	return nil
}

// GetRefreshTokenInfo identifies a refresh token for revocation.
func (s *storage) GetRefreshTokenInfo(_ context.Context, _ string, token string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.refresh[token]
	if !ok {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.subject, t.id, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

// GetClientByClientID knows exactly one client, the gateway.
func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, fmt.Errorf("demo: unknown client %q", id)
	}
	return s.client, nil
}

// AuthorizeClientIDSecret checks the client's credentials in constant time.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.client.id))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.secret))
	if idOK&secretOK != 1 {
		return errors.New("demo: invalid client credentials")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in op; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims.
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ui, r.GetSubject(), scopes)
}

// liveAccess returns a copy of the access token id if it is live and was issued to subject.
func (s *storage) liveAccess(id, subject string) (accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.access[id]
	if !ok || !s.now().Before(t.expires) || t.subject != subject {
		return accessToken{}, errNotFound
	}
	return *t, nil
}

// SetUserinfoFromToken answers the userinfo endpoint (Core 5.3) for a live
// access token only.
func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveAccess(tokenID, subject)
	if err != nil {
		return err
	}
	return s.setUserinfo(ui, t.subject, t.scopes)
}

// SetIntrospectionFromToken answers RFC 7662 introspection for a caller that
// is among the token's audiences; op reports the token inactive on error.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveAccess(tokenID, subject)
	if err != nil {
		return err
	}
	if !slices.Contains(t.audience, clientID) {
		return fmt.Errorf("demo: token not meant for client %q", clientID)
	}
	ui := new(oidc.UserInfo)
	if err := s.setUserinfo(ui, t.subject, t.scopes); err != nil {
		return err
	}
	resp.SetUserInfo(ui)
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.Audience = t.audience
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

// setUserinfo sets the claims the granted scopes release (Core 5.4), plus
// `groups` for the "groups" scope, always as a JSON array of strings.
func (s *storage) setUserinfo(ui *oidc.UserInfo, subject string, scopes []string) error {
	u, err := s.users.bySubject(subject)
	if err != nil {
		return err
	}
	ui.Subject = u.Name // op copies it into the ID token: always set it
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeEmail:
			ui.Email = u.Email
			ui.EmailVerified = oidc.Bool(u.EmailVerified)
		case oidc.ScopeProfile:
			ui.Name = u.DisplayName
			ui.PreferredUsername = u.Name
		case scopeGroups:
			ui.AppendClaims("groups", append([]string{}, u.Groups...))
		}
	}
	return nil
}

// GetPrivateClaimsFromScopes is used by op only when
// GetPrivateClaimsFromRequest is not implemented.
func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, userID, _ string, scopes []string) (map[string]any, error) {
	return s.accessClaims(userID, scopes)
}

// GetPrivateClaimsFromRequest adds to JWT access tokens the granted `scope`
// (RFC 9068 2.2.3) and the identity claims, so a resource server can
// authorize a bearer token without a userinfo call.
func (s *storage) GetPrivateClaimsFromRequest(_ context.Context, r op.TokenRequest, _ []string) (map[string]any, error) {
	return s.accessClaims(r.GetSubject(), r.GetScopes())
}

func (s *storage) accessClaims(subject string, scopes []string) (map[string]any, error) {
	ui := new(oidc.UserInfo)
	if err := s.setUserinfo(ui, subject, scopes); err != nil {
		return nil, err
	}
	claims := map[string]any{"scope": strings.Join(scopes, " ")}
	if ui.Email != "" {
		claims["email"] = ui.Email
		claims["email_verified"] = bool(ui.EmailVerified)
	}
	if ui.PreferredUsername != "" {
		claims["preferred_username"] = ui.PreferredUsername
	}
	if g, ok := ui.Claims["groups"]; ok {
		claims["groups"] = g
	}
	return claims, nil
}

// GetKeyByIDAndClientID: the demo supports no JWT client authentication.
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("demo: JWT profile is not supported")
}

// ValidateJWTProfileScopes: the demo supports no JWT profile grant.
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("demo: JWT profile is not supported")
}

func (s *storage) Health(context.Context) error { return nil }
