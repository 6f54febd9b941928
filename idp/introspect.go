package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis/portcullis"
)

// introspect asks the provider about an opaque access token (RFC 7662 §2.1,
// client_secret_basic) and accepts it only when it is active, has a future
// exp, and is meant for us: an aud among Audiences, or without aud a
// client_id equal to ours (§2.2). The identity comes from the response,
// always as the provider's (introspectedIssuer), so that every rule set
// for the provider applies to it as to its ID and JWT access tokens.
func (c *Client) introspect(ctx context.Context, token string) (*portcullis.Identity, error) {
	m := c.meta.Load()
	if m == nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ErrNotReady)
	}
	if m.introspectionURL == "" {
		return nil, fmt.Errorf("%w: opaque token and no introspection endpoint", ErrInvalidToken)
	}
	claims, err := c.introspectionAnswer(ctx, m, token)
	if err != nil {
		return nil, err
	}
	exp, err := c.checkIntrospected(claims)
	if err != nil {
		return nil, err
	}
	iss, err := c.introspectedIssuer(claims)
	if err != nil {
		return nil, err
	}
	id, err := c.identity(claims, iss)
	if err == nil && c.groupsElsewhere(claims) {
		err = ErrGroupsElsewhere // as for a JWT bearer token
	}
	if err == nil && c.entraTenantToken(iss, claims) {
		err = entraRefusal(claims) // as for the tenant's JWT access tokens
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := c.checkBearerAcr(id); err != nil {
		return nil, err
	}
	id.Scopes = scopesOf(claims)
	id.Expiry = exp
	return id, nil
}

// checkIntrospected applies to an active answer the checks of a JWT
// access token's claims: its kind, no key binding, a future exp (which it
// returns), nbf, and an aud among Audiences or else our client_id.
func (c *Client) checkIntrospected(claims map[string]any) (time.Time, error) {
	// token_type_hint is only a hint (RFC 7662 §2.1): a server that finds
	// the token as a refresh token answers for it, and says so in the
	// claims that name its kind (as a JWT's would).
	if kind := declaredKind(claims); kind != "" {
		return time.Time{}, fmt.Errorf("%w: introspection says it is %s", ErrInvalidToken, kind)
	}
	if bound := senderConstrained(claims); bound != "" {
		return time.Time{}, fmt.Errorf("%w: introspection: %s", ErrInvalidToken, bound)
	}
	exp, hasExp, err := numericDate(claims, "exp")
	now := c.now()
	if err != nil || !hasExp || !now.Before(exp) {
		return time.Time{}, fmt.Errorf("%w: introspection gives no future exp", ErrInvalidToken)
	}
	if nbf, has, err := numericDate(claims, "nbf"); err != nil || (has && now.Add(leeway).Before(nbf)) {
		return time.Time{}, fmt.Errorf("%w: token not yet valid", ErrInvalidToken)
	}
	auds, ok := audiences(claims)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: introspection gives an aud that is neither a string nor an array of strings", ErrInvalidToken)
	}
	if len(auds) > 0 {
		if !audienceMatches(auds, c.cfg.Audiences) {
			return time.Time{}, fmt.Errorf("%w: audience %q is not one of %q", ErrInvalidToken, auds, c.cfg.Audiences)
		}
	} else if cid, _ := claims["client_id"].(string); cid != c.cfg.ClientID {
		return time.Time{}, fmt.Errorf("%w: no aud and client_id %q is not ours", ErrInvalidToken, cid)
	}
	return exp, nil
}

// introspectedIssuer is the issuer of an introspection answer's identity:
// the provider's. Its introspection endpoint answers for its own tokens
// only, so every rule set for the provider (hosted_domain, Entra's tenant
// rules, assume_email_verified, require_claims { iss = provider.issuer })
// must hold for them. Without iss (RFC 7662 §2.2 makes it optional) the
// claims are completed with the provider's issuer. An iss that is not the
// provider's as configured (or Google's other spelling, canonicalIssuer)
// is refused: an unrelated issuer, or the provider's with a trailing slash
// or in another case, made the answer that issuer's, and every rule keyed
// to the provider's issuer was skipped (a Google account of another domain
// passed hosted_domain); an extra issuer's tokens are its own JWTs,
// verified with its keys. A plain OAuth 2.0 provider has no issuer to
// compare: its answer's iss is kept, unless it names an extra issuer.
func (c *Client) introspectedIssuer(claims map[string]any) (string, error) {
	v, present := claims["iss"]
	iss, ok := v.(string)
	switch {
	case !present:
		if c.cfg.Issuer != "" {
			claims["iss"] = c.cfg.Issuer
		}
		return c.cfg.Issuer, nil
	case !ok || iss == "":
		return "", fmt.Errorf("%w: introspection gives an iss that is not a non-empty string", ErrInvalidToken)
	case c.cfg.Issuer != "" && c.canonicalIssuer(iss) == c.cfg.Issuer,
		c.cfg.Issuer == "" && c.trustedIssuer(iss) == nil:
		return iss, nil
	}
	return "", fmt.Errorf("%w: introspection names the issuer %q, not the provider's %q", ErrInvalidToken,
		truncateForLog(iss, 256), c.cfg.Issuer)
}

// introspectionAnswer asks the provider's introspection endpoint about an
// access token (RFC 7662 §2.1, with the client authentication of
// clientAuth) and returns its answer
// for an active token. An answer that cannot be had wraps ErrUnavailable;
// an inactive token, ErrInvalidToken.
func (c *Client) introspectionAnswer(ctx context.Context, m *metadata, token string) (map[string]any, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	status, body, err := c.postForm(c.providerCtx(ctx, "introspection"), m, m.introspectionAuth, m.introspectionURL, form)
	if err != nil {
		return nil, fmt.Errorf("%w: introspection: %v", ErrUnavailable, err)
	}
	if status != http.StatusOK {
		// Not the token's fault: our credentials or the provider.
		return nil, fmt.Errorf("%w: introspection: status %d", ErrUnavailable, status)
	}
	var claims map[string]any
	if err := json.Unmarshal(body, &claims); err != nil || claims == nil {
		return nil, fmt.Errorf("%w: introspection response is not a JSON object", ErrUnavailable)
	}
	if active, _ := claims["active"].(bool); !active {
		return nil, fmt.Errorf("%w: introspection says inactive", ErrInvalidToken)
	}
	return claims, nil
}
