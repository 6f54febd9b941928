package idp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis/portcullis"
)

// maxIntrospectionCache caps how long an introspection result is believed
// without asking again, so revocation at the provider takes effect.
const maxIntrospectionCache = 5 * time.Minute

// VerifyBearer verifies an access token presented as a bearer token (RFC
// 6750): a JWT against the JWKS of its issuer (the provider or an extra
// issuer), or an opaque token through RFC 7662 introspection, and returns
// its identity with Expiry set. Results are cached until the token expires,
// so a repeated token costs no signature check and no network call; the
// returned Identity is shared and must not be modified. Failures wrap
// ErrInvalidToken, except an unreachable introspection endpoint, which wraps
// ErrUnavailable.
func (c *Client) VerifyBearer(ctx context.Context, token string) (*portcullis.Identity, error) {
	// Only tokens that passed every check are cached, so a hit needs no
	// character check; the length is bounded before hashing.
	if len(token) > maxTokenLen {
		c.metrics.bearerInvalid["jwt"].Inc()
		return nil, checkTokenChars(token)
	}
	key := tokenKey(token)
	now := c.now()
	if id, ok := c.bearers.get(key, now); ok {
		c.metrics.bearerCacheValid.Inc()
		return id, nil
	}
	if err := checkTokenChars(token); err != nil {
		c.metrics.bearerInvalid["jwt"].Inc()
		return nil, err
	}
	source := "introspection"
	var id *portcullis.Identity
	var until time.Time
	var err error
	if looksLikeJWT(token) {
		source = "jwt"
		id, err = c.verifyAccessJWT(ctx, token)
		if err == nil {
			until = id.Expiry
		}
	} else {
		id, err = c.introspect(ctx, token)
		if err == nil {
			until = id.Expiry
			if cap := now.Add(maxIntrospectionCache); cap.Before(until) {
				until = cap
			}
		}
	}
	if err != nil {
		c.metrics.bearerInvalid[source].Inc()
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	c.metrics.bearerValid[source].Inc()
	c.bearers.put(key, id, until, now)
	return id, nil
}

// verifyAccessJWT verifies a JWT access token (RFC 9068 where the provider
// follows it): typ, issuer, algorithm, signature, audience and time claims.
func (c *Client) verifyAccessJWT(ctx context.Context, raw string) (*portcullis.Identity, error) {
	typ, iss, err := parseUnverified(raw)
	if err != nil {
		return nil, err
	}
	// RFC 9068 §2.1 "at+jwt"; plain "JWT" or none for providers predating it.
	// Anything else (an ID token is fine, a logout+jwt is not) is refused.
	if typ != "" && !typAllowed(typ, "jwt", "at+jwt") {
		return nil, fmt.Errorf("%w: typ %q is not an access token type", ErrInvalidToken, typ)
	}
	ti := c.trustedIssuer(iss)
	if ti == nil && iss == c.cfg.Issuer && c.cfg.Kind == "oidc" && !c.Ready() {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ErrNotReady)
	}
	if ti == nil {
		return nil, fmt.Errorf("%w: issuer %q is not trusted", ErrInvalidToken, iss)
	}
	vt, err := c.verifyJWT(c.providerCtx(ctx, "jwks"), ti.verifier, raw, timeRules{needExp: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if auds := audiences(vt.claims); !audienceMatches(auds, ti.audiences) {
		return nil, fmt.Errorf("%w: audience %q is not one of %q", ErrInvalidToken, auds, ti.audiences)
	}
	id, err := c.identity(vt.claims, vt.token.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	id.Scopes = scopesOf(vt.claims)
	id.Expiry = vt.exp
	return id, nil
}

// trustedIssuer finds the issuer whose keys and audiences apply to iss, by
// exact comparison; nil when iss is not trusted.
func (c *Client) trustedIssuer(iss string) *trustedIssuer {
	if iss == "" {
		return nil
	}
	if m := c.meta.Load(); m != nil && m.primary != nil && m.primary.issuer == iss {
		return m.primary
	}
	for _, x := range c.extras {
		if x.issuer == iss {
			return x
		}
	}
	return nil
}
