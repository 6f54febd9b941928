package idp

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// logoutMaxAge is how old a logout token's iat may be (OIDC Back-Channel
// Logout 1.0 §2.6 step 6 leaves the window to the RP).
const logoutMaxAge = 5 * time.Minute

// backchannelEvent is the events member of a logout token (§2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// VerifyLogoutToken verifies a back-channel logout token (OIDC Back-Channel
// Logout 1.0 §2.6) and returns the sub and/or sid it names: signature from
// the provider's JWKS, iss exact, aud containing client_id and no audience
// the client does not trust (as an ID token's), a fresh iat, a
// jti not seen before, the back-channel event, sub or sid, no nonce, and a
// typ header (§2.4) that is absent, "JWT" or "logout+jwt". Errors wrap
// ErrInvalidToken (ErrNotReady before discovery).
func (c *Client) VerifyLogoutToken(ctx context.Context, raw string) (sub, sid string, err error) {
	m := c.meta.Load()
	if m == nil || m.idVerifier == nil {
		return "", "", ErrNotReady
	}
	if err := checkTokenChars(raw); err != nil {
		return "", "", err
	}
	typ, _, err := parseUnverified(raw)
	if err != nil {
		return "", "", err
	}
	if typ != "" && !typAllowed(typ, "jwt", "logout+jwt") {
		return "", "", fmt.Errorf("%w: logout token typ %q", ErrInvalidToken, typ)
	}
	vt, err := c.verifyJWT(c.providerCtx(ctx, "jwks"), m.idVerifier, raw, timeRules{needIat: true, maxAge: logoutMaxAge})
	if err != nil {
		return "", "", fmt.Errorf("%w: logout token: %v", ErrInvalidToken, err)
	}
	if err := c.trustedAudiences(vt.token.Audience); err != nil {
		return "", "", fmt.Errorf("%w: logout token: %v", ErrInvalidToken, err)
	}
	if sub, sid, err = logoutClaims(vt.claims); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	jti, _ := vt.claims["jti"].(string)
	if jti == "" {
		return "", "", fmt.Errorf("%w: logout token has no jti", ErrInvalidToken)
	}
	// The token is recorded as used only once its logout took effect
	// (MarkLogoutTokenUsed): a logout that failed (the session store was
	// down) must end the sessions when the provider retries it.
	key := logoutKey(vt)
	if _, used := c.jtis.Get(tokenKey(key)); used {
		return "", "", fmt.Errorf("%w: logout token jti %q already used", ErrInvalidToken, jti)
	}
	if seen := c.cfg.ReplaySeen; seen != nil {
		used, err := seen(ctx, "logout-jti\x00"+key)
		if err != nil {
			return "", "", fmt.Errorf("%w: logout token jti: cannot rule out a replay: %v", ErrInvalidToken, err)
		}
		if used {
			return "", "", fmt.Errorf("%w: logout token jti %q already used on another replica", ErrInvalidToken, jti)
		}
	}
	return sub, sid, nil
}

// MarkLogoutTokenUsed records the logout token raw, which VerifyLogoutToken
// accepted and whose logout took effect, as used: in the process and,
// through Config.ReplayGuard, on every replica, until its iat is too old
// for it to be accepted anyway. Only a token that verifies is recorded.
func (c *Client) MarkLogoutTokenUsed(ctx context.Context, raw string) error {
	m := c.meta.Load()
	if m == nil || m.idVerifier == nil {
		return ErrNotReady
	}
	vt, err := c.verifyJWT(c.providerCtx(ctx, "jwks"), m.idVerifier, raw, timeRules{needIat: true, maxAge: logoutMaxAge})
	if err != nil {
		return fmt.Errorf("%w: logout token: %v", ErrInvalidToken, err)
	}
	key, until := logoutKey(vt), vt.iat.Add(logoutMaxAge+2*leeway)
	c.jtis.Add(tokenKey(key), struct{}{}, until) // when full, the shared guard still records it
	if g := c.cfg.ReplayGuard; g != nil {
		if _, err := g(ctx, "logout-jti\x00"+key, until); err != nil {
			return fmt.Errorf("idp: recording the logout token as used: %w", err)
		}
	}
	return nil
}

// logoutKey is what the replay memories keep of a logout token: its
// issuer and jti.
func logoutKey(vt *verifiedJWT) string {
	jti, _ := vt.claims["jti"].(string)
	return vt.token.Issuer + "\x00" + jti
}

// logoutClaims checks the claims §2.4 requires of a logout token.
func logoutClaims(claims map[string]any) (sub, sid string, err error) {
	events, _ := claims["events"].(map[string]any)
	if _, ok := events[backchannelEvent].(map[string]any); !ok {
		return "", "", errors.New("logout token lacks the back-channel logout event")
	}
	if _, ok := claims["nonce"]; ok {
		return "", "", errors.New("logout token must not contain a nonce")
	}
	sub, _ = claims["sub"].(string)
	sid, _ = claims["sid"].(string)
	if sub == "" && sid == "" {
		return "", "", errors.New("logout token names neither sub nor sid")
	}
	if err := checkHeaderSafe("sub", sub); err != nil {
		return "", "", err
	}
	return sub, sid, checkHeaderSafe("sid", sid)
}
