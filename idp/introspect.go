package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/portcullis/portcullis"
)

// introspect asks the provider about an opaque access token (RFC 7662 §2.1,
// client_secret_basic) and accepts it only when it is active, has a future
// exp, and is meant for us: an aud among Audiences, or without aud a
// client_id equal to ours (§2.2). The identity comes from the response.
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
	// token_type_hint is only a hint (RFC 7662 §2.1): a server that finds
	// the token as a refresh token answers for it, and says so in the
	// claims that name its kind (as a JWT's would).
	if kind := declaredKind(claims); kind != "" {
		return nil, fmt.Errorf("%w: introspection says it is %s", ErrInvalidToken, kind)
	}
	if bound := senderConstrained(claims); bound != "" {
		return nil, fmt.Errorf("%w: introspection: %s", ErrInvalidToken, bound)
	}
	exp, hasExp, err := numericDate(claims, "exp")
	now := c.now()
	if err != nil || !hasExp || !now.Before(exp) {
		return nil, fmt.Errorf("%w: introspection gives no future exp", ErrInvalidToken)
	}
	if nbf, has, err := numericDate(claims, "nbf"); err != nil || (has && now.Add(leeway).Before(nbf)) {
		return nil, fmt.Errorf("%w: token not yet valid", ErrInvalidToken)
	}
	auds, ok := audiences(claims)
	if !ok {
		return nil, fmt.Errorf("%w: introspection gives an aud that is neither a string nor an array of strings", ErrInvalidToken)
	}
	if len(auds) > 0 {
		if !audienceMatches(auds, c.cfg.Audiences) {
			return nil, fmt.Errorf("%w: audience %q is not one of %q", ErrInvalidToken, auds, c.cfg.Audiences)
		}
	} else if cid, _ := claims["client_id"].(string); cid != c.cfg.ClientID {
		return nil, fmt.Errorf("%w: no aud and client_id %q is not ours", ErrInvalidToken, cid)
	}
	iss, err := c.introspectedIssuer(claims)
	if err != nil {
		return nil, err
	}
	id, err := c.identity(claims, iss)
	if err == nil && c.groupsElsewhere(claims) {
		err = ErrGroupsElsewhere // as for a JWT bearer token
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	id.Scopes = scopesOf(claims)
	id.Expiry = exp
	return id, nil
}

// introspectedIssuer is the issuer of an introspection answer's identity.
// The provider answered, so the token is its own: without iss (RFC 7662
// §2.2 makes it optional) the answer's claims are completed with the
// provider's issuer, so that require_claims { iss = provider.issuer },
// which the docs give for "the provider's users only", admits its opaque
// tokens too. An iss that names an extra issuer is refused: that issuer's
// tokens are JWTs verified with its own keys, and the provider's word
// would make one of its tokens that issuer's subject (in sub_id and for
// require_claims { iss = ... }).
func (c *Client) introspectedIssuer(claims map[string]any) (string, error) {
	iss, ok := claims["iss"].(string)
	if _, present := claims["iss"]; !present && c.cfg.Issuer != "" {
		claims["iss"] = c.cfg.Issuer
	}
	if !ok || iss == "" {
		return c.cfg.Issuer, nil
	}
	if c.canonicalIssuer(iss) != c.cfg.Issuer && c.trustedIssuer(iss) != nil {
		return "", fmt.Errorf("%w: introspection names the issuer %q, which is an extra issuer: its tokens are its own JWTs", ErrInvalidToken, truncateForLog(iss, 256))
	}
	return iss, nil
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
