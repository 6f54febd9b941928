package idp

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
)

// isJWTMediaType reports whether a Content-Type is application/jwt (any
// case, any parameters): the userinfo answer of a client registered with
// userinfo_signed_response_alg (OpenID Connect Core 5.3.2), which a
// provider sends whatever the request's Accept says.
func isJWTMediaType(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	return err == nil && mt == "application/jwt"
}

// envelopeClaims date and address a signed userinfo answer, not the user:
// merged as userinfo claims, the answer's exp or aud would stand in for the
// session's where the ID token (or, at a refresh without one, the sign-in)
// has none.
var envelopeClaims = []string{"iss", "aud", "exp", "iat", "nbf", "jti"}

// signedUserinfo reads the claims of a userinfo answer sent as a JWT. It
// was read as JSON, so that every sign-in with such a client failed (and
// no refresh could read it). It is verified as an ID token is: the
// provider's keys and algorithms, iss the issuer, aud naming the client,
// and its exp if it has one; unsigned, encrypted (the gateway holds no
// decryption key) or from a provider without discovery (no keys to check
// it with), it is refused.
func (c *Client) signedUserinfo(ctx context.Context, u, raw string) (map[string]any, error) {
	raw = strings.TrimSpace(raw)
	if strings.Count(raw, ".") == 4 {
		return nil, fmt.Errorf("idp: userinfo %s: the answer is encrypted (userinfo_encrypted_response_alg), which the gateway cannot read: register the client without it", u)
	}
	m := c.meta.Load()
	if m == nil || m.idVerifier == nil {
		return nil, fmt.Errorf("idp: userinfo %s: the answer is a JWT, which a provider without OpenID Connect discovery gives no keys to verify", u)
	}
	if err := checkTokenChars(raw); err != nil {
		return nil, fmt.Errorf("idp: userinfo %s: signed answer: %w", u, err)
	}
	vt, err := c.verifyJWT(c.providerCtx(ctx, "jwks"), m.idVerifier, raw, timeRules{})
	if err != nil {
		return nil, fmt.Errorf("idp: userinfo %s: signed answer: %w", u, err)
	}
	if _, ok := vt.claims["sub"].(string); !ok {
		return nil, errors.New("idp: userinfo: signed answer has no sub")
	}
	for _, k := range envelopeClaims {
		delete(vt.claims, k)
	}
	return vt.claims, nil
}
