package idp

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/internal/logattr"
	"golang.org/x/oauth2"
)

// Exchange redeems code with the PKCE verifier (RFC 7636 §4.5), verifies the
// ID token in full (OIDC Core 3.1.3.7, including nonce and at_hash),
// completes the claims from userinfo and returns the tokens and identity.
// started is when the sign-in's authorization request was made (its login
// state's IssuedAt), which max_age is counted back from; zero counts it
// from now, the strictest reading.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string, started time.Time) (*Tokens, *portcullis.Identity, error) {
	m := c.meta.Load()
	if m == nil {
		return nil, nil, ErrNotReady
	}
	tok, out, err := c.redeemCode(ctx, m, code, verifier)
	if err != nil {
		return nil, nil, err
	}
	var id *portcullis.Identity
	if c.isOIDC() {
		id, err = c.signInIdentity(ctx, m, out.IDToken, tok.AccessToken, nonce, started)
	} else {
		id, err = c.oauthIdentity(ctx, m, tok.AccessToken)
	}
	if err != nil {
		return nil, nil, err
	}
	if out.GroupsReadAt, err = c.loginGroups(ctx, id, tok.AccessToken); err != nil {
		return nil, nil, err
	}
	id.Scopes = out.Scopes
	return out, id, nil
}

// redeemCode presents code and the PKCE verifier at the token endpoint and
// returns the provider's answer with the tokens and scopes read from it
// (asked of the provider when the answer omits them). A code the provider
// refuses (invalid_grant) is marked ErrCodeRefused: a made-up, expired or
// replayed callback, not a failing provider.
func (c *Client) redeemCode(ctx context.Context, m *metadata, code, verifier string) (*oauth2.Token, *Tokens, error) {
	tok, err := c.tokenRequest(m, func(conf *oauth2.Config) (*oauth2.Token, error) {
		return conf.Exchange(c.providerCtx(ctx, "token"), code, oauth2.VerifierOption(verifier))
	})
	if err != nil {
		err = c.tokenError(err, code, verifier)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, nil, fmt.Errorf("idp: code exchange: %w: %w", ErrCodeRefused, err)
		}
		return nil, nil, fmt.Errorf("idp: code exchange: %w", err)
	}
	if err := checkTokenResponse(tok, true); err != nil {
		return nil, nil, fmt.Errorf("idp: code exchange: %w", err)
	}
	out, omitted := c.tokens(tok, m.oauth.Scopes)
	if omitted {
		if out.Scopes, err = c.grantedScopes(ctx, m, tok.AccessToken); err != nil {
			return nil, nil, fmt.Errorf("idp: code exchange: %w", err)
		}
	}
	return tok, out, nil
}

// signInIdentity verifies an OpenID Connect sign-in's ID token (signature,
// claims, freshness, nonce, requested authentication, hosted domain) and
// returns the identity it names, its claims completed from userinfo.
func (c *Client) signInIdentity(ctx context.Context, m *metadata, idToken, accessToken, nonce string, started time.Time) (*portcullis.Identity, error) {
	if idToken == "" {
		return nil, errors.New("idp: token response has no id_token")
	}
	vt, err := c.verifyIDToken(ctx, m, idToken, accessToken)
	if err != nil {
		return nil, err
	}
	if err := c.checkFresh(vt); err != nil {
		return nil, err
	}
	// OIDC Core 3.1.3.7 step 11, compared in constant time.
	got := vt.token.Nonce
	if nonce == "" || subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return nil, errors.New("idp: ID token nonce does not match the authorization request")
	}
	if err := c.checkRequestedAuthentication(vt, started); err != nil {
		return nil, err
	}
	if err := c.checkHostedDomain(vt.claims, vt.token.Issuer); err != nil {
		return nil, err
	}
	names, err := c.completeFromUserinfo(ctx, m, accessToken, vt.claims)
	if err != nil {
		return nil, err
	}
	id, err := c.identity(vt.claims, vt.token.Issuer)
	if err != nil {
		return nil, err
	}
	id.UserinfoClaims = names
	return id, nil
}

// maxIDTokenAge is how long before the callback an ID token may have been
// issued (beyond the leeway): the token endpoint mints it for this code
// exchange, so an older one is replayed or stale (OIDC Core 3.1.3.7 step 10
// leaves the window to the client).
const maxIDTokenAge = 5 * time.Minute

// checkFresh refuses an ID token whose iat is more than maxIDTokenAge (plus
// the leeway) before now.
func (c *Client) checkFresh(vt *verifiedJWT) error {
	if age := c.now().Sub(vt.iat); age > maxIDTokenAge+leeway {
		return fmt.Errorf("idp: ID token issued at %s, %s before the callback%s: a replayed or stale token, "+
			"or the gateway's and the provider's clocks are not synchronised (NTP)",
			vt.iat.UTC().Format(time.RFC3339), age.Round(time.Second), gatewayClock(c.now()))
	}
	return nil
}

// checkRequestedAuthentication checks the ID token against the acr_values
// and max_age of auth_params (OIDC Core 3.1.3.7 steps 12-13). They travel
// in the authorization request, which the browser carries and can edit: a
// user with only a password drops acr_values=mfa, and the provider then
// says in acr what it did instead. The acr must be one requested (exactly,
// OIDC Core 2); with max_age, auth_time is required (OIDC Core 2) and may
// be at most max_age before the authorization request was made (started).
// Counted from the callback with the 10 minutes a login may take added,
// max_age=0 turned into max_age=86400 signed in from a provider session
// whose password was 10 minutes old, though the login state says when the
// request was made.
func (c *Client) checkRequestedAuthentication(vt *verifiedJWT, started time.Time) error {
	if want, ok := c.cfg.AuthParams["acr_values"]; ok {
		acr, _ := vt.claims["acr"].(string)
		if !slices.Contains(splitScopes(want), acr) {
			return fmt.Errorf("idp: ID token acr %q is none of the requested acr_values %q", truncateForLog(acr, 64), want)
		}
	}
	if v, ok := c.cfg.AuthParams["max_age"]; ok {
		return c.checkAuthTime(vt, v, started)
	}
	return nil
}

// checkAuthTime holds the ID token's auth_time to max_age (the auth_params
// value v) counted back from started, the sign-in's authorization request;
// a zero or later started is now.
func (c *Client) checkAuthTime(vt *verifiedJWT, v string, started time.Time) error {
	maxAge, _ := parseMaxAge(v) // checked by defaults
	at, has, err := numericDate(vt.claims, "auth_time")
	now := c.now()
	if started.IsZero() || started.After(now) {
		started = now
	}
	switch {
	case err != nil:
		return fmt.Errorf("idp: ID token: %w", err)
	case !has:
		return errors.New("idp: ID token has no auth_time although max_age was requested")
	case now.Add(leeway).Before(at):
		return fmt.Errorf("idp: ID token auth_time %s is in the future%s", at.UTC().Format(time.RFC3339), clockSkew(now))
	case started.Sub(at) > maxAge+leeway:
		return fmt.Errorf("idp: ID token auth_time %s is older than max_age %s allows for a sign-in begun at %s%s",
			at.UTC().Format(time.RFC3339), v, started.UTC().Format(time.RFC3339), gatewayClock(now))
	}
	return nil
}

// parseMaxAge reads the max_age authorization parameter: a non-negative
// number of seconds (OIDC Core 3.1.2.1).
func parseMaxAge(v string) (time.Duration, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("idp: auth_params max_age %q is not a number of seconds", v)
	}
	return time.Duration(n) * time.Second, nil
}

// grantedScopes finds out which scopes a code exchange granted when its
// token response does not say (RFC 6749 §5.1 allows that when the grant is
// the requested scope). The request the provider saw is not necessarily the
// one the gateway built: the browser carries it, and its user can drop a
// scope from it, so the provider is asked instead: the access token's own
// scope or scp claim when it is a JWT that has one (it comes from the token
// endpoint, as the scope parameter would), else introspection; with
// neither, or when introspection fails, no scope is granted.
func (c *Client) grantedScopes(ctx context.Context, m *metadata, accessToken string) ([]string, error) {
	if claims, ok := jwtPayload(accessToken); ok {
		if _, has := claims["scope"]; has {
			return scopesOf(claims), nil
		}
		if _, has := claims["scp"]; has {
			return scopesOf(claims), nil
		}
	}
	if m.introspectionURL == "" {
		c.log.Debug("idp: the token response states no scope and the access token cannot tell: no scope is taken as granted")
		return nil, nil
	}
	claims, err := c.introspectionAnswer(ctx, m, accessToken)
	if err != nil {
		// The sign-in stands (its identity does not depend on it), with
		// no scope: a step-up asks again.
		c.log.Warn("idp: the token response states no scope and introspection could not say which: no scope is taken as granted", logattr.Err(err))
		return nil, nil
	}
	return scopesOf(claims), nil
}

// jwtPayload returns the claims of raw when it is a compact JWS with a
// JSON object payload, without verifying it: for a token the provider's
// token endpoint has just handed over.
func jwtPayload(raw string) (map[string]any, bool) {
	if !looksLikeJWT(raw) {
		return nil, false
	}
	seg := strings.Split(raw, ".")[1]
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(b, &claims) != nil || claims == nil {
		return nil, false
	}
	return claims, true
}

// checkTokenType refuses a token response whose token_type is not Bearer in
// any case (RFC 6749 §7.1, RFC 6750 §4): the access token of any other type
// (DPoP, MAC, N_A) cannot be used as the gateway uses it. An absent
// token_type is refused when required (the code exchange, RFC 6749 §5.1)
// and let pass for a refresh, where some providers omit it.
func checkTokenType(t string, required bool) error {
	if strings.EqualFold(t, "bearer") || (t == "" && !required) {
		return nil
	}
	return fmt.Errorf("token_type %q is not Bearer", truncateForLog(t, 32))
}

// truncateForLog cuts s to at most n bytes for an error message.
func truncateForLog(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// tokens copies a token response; Scopes are its scope (RFC 6749 §5.1),
// else (omitted) the requested ones, which a code exchange must not
// believe (grantedScopes).
func (c *Client) tokens(tok *oauth2.Token, requested []string) (out *Tokens, omitted bool) {
	out = &Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
	// x/oauth2 dates expires_in with time.Now; date it with our clock.
	if secs, ok := expiresIn(tok.Extra("expires_in")); ok {
		out.Expiry = c.now().Add(time.Duration(secs) * time.Second)
	}
	out.IDToken, _ = tok.Extra("id_token").(string)
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		out.Scopes = splitScopes(s)
		if c.cfg.Kind == "github" {
			out.Scopes = splitGitHubScopes(s)
		}
	} else {
		omitted = true
		out.Scopes = append([]string(nil), requested...)
	}
	return out, omitted
}

// maxExpiresIn bounds expires_in (seconds): a larger value is read as this
// one. Unbounded, 1e10 overflowed the time.Duration it is turned into, and
// 1e19 the int64: the expiry came out in the past, and every request of the
// session refreshed it at the provider. Either way the session ends at its
// lifetime, far sooner.
const maxExpiresIn = 10 * 366 * 24 * 3600

// expiresIn reads expires_in (RFC 6749 §5.1), a number of seconds that some
// providers send as a string. A form-encoded answer (GitHub's) comes from
// x/oauth2's Extra as an int64, or a float64 when it has a dot. Zero,
// negative, fractional below one and non-numeric values state no expiry.
func expiresIn(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return min(x, maxExpiresIn), x > 0
	case float64:
		if !(x >= 1) { // NaN too
			return 0, false
		}
		return int64(min(x, maxExpiresIn)), true
	case json.Number:
		return expiresIn(string(x))
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if errors.Is(err, strconv.ErrRange) && ascii.Digits(strings.TrimPrefix(x, "+")) {
			return maxExpiresIn, true
		}
		return min(n, maxExpiresIn), err == nil && n > 0
	}
	return 0, false
}

// verifyIDToken checks an ID token: go-oidc verifies signature (provider's
// algorithms), iss and aud; here sub, iat, azp, at_hash and the time claims
// (OIDC Core 3.1.3.7 steps 3-10, 3.1.3.8). The nonce is the caller's.
func (c *Client) verifyIDToken(ctx context.Context, m *metadata, raw, accessToken string) (*verifiedJWT, error) {
	if err := checkTokenChars(raw); err != nil {
		return nil, fmt.Errorf("idp: ID token: %w", err)
	}
	vt, err := c.verifyJWT(c.providerCtx(ctx, "jwks"), m.idVerifier, raw, timeRules{needExp: true, needIat: true})
	if err != nil {
		return nil, fmt.Errorf("idp: ID token: %w", err)
	}
	if sub, _ := vt.claims["sub"].(string); sub == "" {
		return nil, errors.New("idp: ID token has no sub")
	}
	if err := c.checkIDTokenAudience(vt); err != nil {
		return nil, err
	}
	if vt.token.AccessTokenHash != "" && accessToken != "" {
		if err := vt.token.VerifyAccessToken(accessToken); err != nil {
			return nil, fmt.Errorf("idp: ID token at_hash: %w", err)
		}
	}
	return vt, nil
}

// checkIDTokenAudience checks an ID token's aud and azp beyond go-oidc's
// "aud contains client_id" (OIDC Core 3.1.3.7 steps 3-5): one with several
// audiences names the client in azp, an azp is the client, and every
// audience is one the client trusts (trustedAudiences): an ID token also
// for another client or API is refused, as one for another client alone
// is (its aud would otherwise pass a route's require_claims { aud = ... }
// meant for that API's tokens).
func (c *Client) checkIDTokenAudience(vt *verifiedJWT) error {
	azp, hasAzp := vt.claims["azp"]
	if len(vt.token.Audience) > 1 && !hasAzp {
		return errors.New("idp: ID token with several audiences has no azp")
	}
	if hasAzp && azp != c.cfg.ClientID {
		return fmt.Errorf("idp: ID token azp %v is not our client_id", azp)
	}
	return c.trustedAudiences(vt.token.Audience)
}

// trustedAudiences refuses an ID or logout token (aud, which go-oidc found
// to contain client_id) that also names an audience the client does not
// trust: one neither the client ID nor one of provider.audiences or
// provider.id_token_audiences (OIDC Core 3.1.3.7 step 3; Back-Channel
// Logout 1.0 §2.6 step 3 validates aud the same way).
func (c *Client) trustedAudiences(aud []string) error {
	for _, a := range aud {
		if a != c.cfg.ClientID && !slices.Contains(c.cfg.Audiences, a) && !slices.Contains(c.cfg.IDTokenAudiences, a) {
			return fmt.Errorf("idp: audience %q is not trusted: neither client_id nor one of provider.id_token_audiences (nor provider.audiences, which also admits bearer tokens for it)",
				truncateForLog(a, 64))
		}
	}
	return nil
}

// errUserinfoSubject means userinfo answered for another subject than the
// ID token's.
var errUserinfoSubject = errors.New("idp: userinfo is for another subject")

// completeFromUserinfo adds the userinfo claims the ID token lacks (OIDC
// Core 5.3), believing them only when userinfo's sub equals the ID token's
// (5.3.2). It returns the names userinfo stated (userinfoNames), nil when
// the provider has no userinfo.
func (c *Client) completeFromUserinfo(ctx context.Context, m *metadata, accessToken string, claims map[string]any) ([]string, error) {
	if m.userinfoURL == "" {
		return nil, nil
	}
	ui, err := c.userinfo(ctx, m.userinfoURL, accessToken, "application/json")
	if err != nil {
		return nil, err
	}
	if ui["sub"] != claims["sub"] {
		return nil, fmt.Errorf("%w: userinfo sub %v does not match the ID token's %v", errUserinfoSubject, ui["sub"], claims["sub"])
	}
	mergeMissing(claims, ui, c.cfg.EmailClaim)
	return userinfoNames(ui), nil
}

// userinfo GETs a JSON object with the access token, or the signed JWT
// that holds one (signedUserinfo).
func (c *Client) userinfo(ctx context.Context, u, accessToken, accept string) (map[string]any, error) {
	body, ctype, err := c.getBody(c.providerCtx(ctx, "userinfo"), u, accessToken, accept)
	if err != nil {
		return nil, fmt.Errorf("idp: userinfo: %w", err)
	}
	if isJWTMediaType(ctype) {
		return c.signedUserinfo(ctx, u, string(body))
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("idp: userinfo %s: not a JSON object", u)
	}
	return claims, nil
}

// oauthIdentity derives the identity of a plain OAuth 2.0 or GitHub login
// from the userinfo JSON through the claim settings.
func (c *Client) oauthIdentity(ctx context.Context, m *metadata, accessToken string) (*portcullis.Identity, error) {
	claims, err := c.oauthClaims(ctx, m, accessToken)
	if err != nil {
		return nil, err
	}
	return c.identity(claims, "")
}

// oauthClaims reads the claims of a plain OAuth 2.0 or GitHub user.
func (c *Client) oauthClaims(ctx context.Context, m *metadata, accessToken string) (map[string]any, error) {
	if c.cfg.Kind == "github" {
		return c.githubClaims(ctx, accessToken)
	}
	return c.userinfo(ctx, m.userinfoURL, accessToken, "application/json")
}
