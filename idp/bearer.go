package idp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/ascii"
)

// maxIntrospectionCache caps how long an introspection result is believed
// without asking again, so revocation at the provider takes effect.
const maxIntrospectionCache = 5 * time.Minute

// VerifyBearer verifies an access token presented as a bearer token (RFC
// 6750): a JWT against the JWKS of its issuer (the provider or an extra
// issuer), or an opaque token through RFC 7662 introspection, and returns
// its identity with Expiry set to when the token stops being accepted (a
// JWT's exp plus the leeway). Results are cached until then,
// so a repeated token costs no signature check and no network call; the
// returned Identity is shared and must not be modified. Failures wrap
// ErrInvalidToken, except an unreachable introspection endpoint, which wraps
// ErrUnavailable, and too many introspection calls in flight, ErrBusy.
func (c *Client) VerifyBearer(ctx context.Context, token string) (*portcullis.Identity, error) {
	// Only tokens that passed every check are cached, so a hit needs no
	// character check; the length is bounded before hashing.
	if len(token) > maxTokenLen {
		c.metrics.bearerInvalid["jwt"].Inc()
		return nil, checkTokenChars(token)
	}
	key := tokenKey(token)
	if id, ok := c.bearers.Get(key); ok {
		c.metrics.bearerCacheValid.Inc()
		return id, nil
	}
	if err := checkTokenChars(token); err != nil {
		c.metrics.bearerInvalid["jwt"].Inc()
		return nil, err
	}
	source := "introspection"
	var id *portcullis.Identity
	var err error
	if looksLikeJWT(token) {
		source = "jwt"
		var until time.Time
		if id, until, err = c.verifyAccessJWT(ctx, token); err == nil && c.now().Before(until) {
			c.bearers.SetUntil(key, id, until)
		}
	} else {
		id, err = c.introspectShared(ctx, token, key) // caches what it accepts
	}
	if err != nil {
		c.metrics.bearerInvalid[source].Inc()
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrInvalidToken) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	c.metrics.bearerValid[source].Inc()
	return id, nil
}

// verifyAccessJWT verifies a JWT access token (RFC 9068 where the provider
// follows it): typ, issuer, algorithm, signature, audience and time claims.
// The verification may be cached until the time it returns: the token's
// exp, or earlier when the key set it was checked against is due to be
// fetched again, so that a key the issuer withdrew stops verifying cached
// tokens too (zero, not cached, when that set was fetched for this token).
func (c *Client) verifyAccessJWT(ctx context.Context, raw string) (*portcullis.Identity, time.Time, error) {
	ti, err := c.accessTokenIssuer(raw)
	if err != nil {
		return nil, time.Time{}, err
	}
	until := ti.keys.trustedUntil() // before verifying: a fetch it causes does not extend it
	vt, err := c.verifyJWT(c.providerCtx(ctx, "jwks"), ti.verifier, raw, timeRules{needExp: true})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	tenant, err := c.checkAccessClaims(vt, ti)
	if err != nil {
		return nil, time.Time{}, err
	}
	if ti.extra {
		ownAudiences(vt.claims, ti.audiences)
	}
	id, err := c.accessIdentity(vt, tenant)
	if err != nil {
		return nil, time.Time{}, err
	}
	if id.Expiry.Before(until) {
		until = id.Expiry
	}
	return id, until, nil
}

// accessTokenIssuer reads raw's typ and issuer, before its signature is
// checked, and returns the trusted issuer whose keys are to check it: a
// typ other than an access token's, or an untrusted issuer, is refused
// without a key fetched.
func (c *Client) accessTokenIssuer(raw string) (*trustedIssuer, error) {
	typ, iss, err := parseUnverified(raw)
	if err != nil {
		return nil, err
	}
	// RFC 9068 §2.1 "at+jwt"; plain "JWT" or none for providers predating it.
	// Anything else (e.g. logout+jwt) is refused.
	if typ != "" && !typAllowed(typ, "jwt", "at+jwt") {
		return nil, fmt.Errorf("%w: typ %q is not an access token type", ErrInvalidToken, typ)
	}
	ti := c.trustedIssuer(iss)
	if ti == nil && iss == c.cfg.Issuer && c.isOIDC() && !c.Ready() {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ErrNotReady)
	}
	if ti == nil {
		return nil, fmt.Errorf("%w: issuer %q is not trusted", ErrInvalidToken, iss)
	}
	return ti, nil
}

// checkAccessClaims refuses a verified token that is not an access token
// for this gateway: another audience, an ID or other token, one bound to a
// sender. It reports whether the token is an Entra ID tenant's: the
// provider's tenant's (entraTenantToken), or one of an extra issuer that
// is itself an Entra ID tenant. Entra's rules are about the tokens Entra
// issues, whoever trusts its issuer: kept to the provider's tenant, a
// partner tenant trusted as an extra issuer had its ID tokens and its
// app-only tokens that grant nothing taken for access tokens.
func (c *Client) checkAccessClaims(vt *verifiedJWT, ti *trustedIssuer) (tenant bool, err error) {
	if auds, _ := audiences(vt.claims); !audienceMatches(auds, ti.audiences) {
		return false, fmt.Errorf("%w: audience %q is not one of %q", ErrInvalidToken, auds, ti.audiences)
	}
	kind := notAnAccessToken(vt.claims)
	tenant = c.entraTenantToken(vt.token.Issuer, vt.claims) || entraIssuer(ti.issuer)
	if kind == "" && tenant {
		kind = entraIDToken(vt.claims)
	}
	if kind != "" {
		return false, fmt.Errorf("%w: %s is not an access token", ErrInvalidToken, kind)
	}
	if bound := senderConstrained(vt.claims); bound != "" {
		return false, fmt.Errorf("%w: %s", ErrInvalidToken, bound)
	}
	return tenant, nil
}

// accessIdentity is the identity of a verified access token, with its
// scopes, ending when the token stops verifying.
func (c *Client) accessIdentity(vt *verifiedJWT, tenant bool) (*portcullis.Identity, error) {
	id, err := c.identity(vt.claims, vt.token.Issuer)
	if err == nil && c.groupsElsewhere(vt.claims) {
		// Bearer tokens carry no directory groups: Entra ID's overage
		// too is refused rather than read as no group.
		err = ErrGroupsElsewhere
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if err := c.checkBearerAcr(id); err != nil {
		return nil, err
	}
	if tenant && entraUngranted(vt.claims) {
		return nil, fmt.Errorf("%w: an app-only token with no app role (any application with a service principal in the tenant can obtain one): assign the client an app role", ErrInvalidToken)
	}
	id.Scopes = scopesOf(vt.claims)
	// The identity ends when the token stops verifying: at exp plus the
	// leeway verifyJWT grants. Ending it at exp made a token within the
	// leeway reach the application, whose answer was then broken off as
	// expired (a 401 after the upstream acted on the request).
	id.Expiry = vt.exp.Add(leeway)
	return id, nil
}

// ownAudiences narrows the aud of an extra issuer's verified token to the
// audiences that issuer is trusted with (one of them is there: the token
// was accepted for it), so that the rules see no other. Such an issuer
// names any audience it likes next to its own (a Kubernetes token minted
// with two, a GitLab CI job's list), and a route bound to the provider's
// API by require_claims { aud = ... } admitted it as that API's token.
func ownAudiences(claims map[string]any, trusted []string) {
	auds, _ := audiences(claims)
	kept := make([]any, 0, len(auds))
	for _, a := range auds {
		if slices.Contains(trusted, a) {
			kept = append(kept, a)
		}
	}
	if len(kept) < len(auds) {
		claims["aud"] = kept
	}
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

// notAnAccessToken names the kind of a JWT that carries the marks of an ID
// token or a logout token, or whose claims name another kind (declaredKind),
// "" otherwise. With the default audiences (the client ID) an ID token would
// pass the audience check, and ID tokens travel further than access tokens
// (id_token_hint in end-session URLs), so token substitution (RFC 9068 §4)
// is refused by content when typ cannot tell: nonce, at_hash and c_hash
// exist only in ID tokens (OIDC Core 2, 3.1.3.6, 3.3.2.11), events only in
// logout tokens (Back-Channel Logout 1.0 §2.4).
func notAnAccessToken(claims map[string]any) string {
	for _, k := range []string{"nonce", "at_hash", "c_hash"} {
		if _, ok := claims[k]; ok {
			return "an ID token (" + k + ")"
		}
	}
	if _, ok := claims["events"]; ok {
		return "a logout token"
	}
	return declaredKind(claims)
}

// declaredKind says which other kind of token than an access token the
// claims state they are, "" when they state none or an access token. One
// rule for JWTs and introspection answers alike: Keycloak states the kind
// in a typ claim (Bearer; ID, Logout, Refresh, Offline), Ory Hydra and
// Amazon Cognito in token_use (access_token, access; refresh_token, id).
// Cognito's ID tokens carry neither nonce nor at_hash when they come from
// its own API or a refresh, so token_use is all that tells them apart, and
// none of these claims may be other than a string (mistypedKind). A
// token_type (RFC 7662 §2.2: an access token type such as Bearer) that
// names a refresh or ID token, plainly or as an RFC 8693 token type URI,
// is one from a server that found the token under another kind.
func declaredKind(claims map[string]any) string {
	if k := mistypedKind(claims); k != "" {
		return fmt.Sprintf("a token whose %s is not a string", k)
	}
	if t, ok := claims["token_type"].(string); ok {
		kind := strings.ToLower(strings.TrimPrefix(t, "urn:ietf:params:oauth:token-type:"))
		switch kind {
		case "refresh_token", "refresh", "id_token", "id", "offline":
			return fmt.Sprintf("a token of token_type %q", truncateForLog(t, 64))
		}
	}
	if t, ok := claims["typ"].(string); ok {
		for _, k := range []string{"ID", "Logout", "Refresh", "Offline"} {
			if strings.EqualFold(t, k) {
				return fmt.Sprintf("a token of typ %q", t)
			}
		}
	}
	if s, ok := claims["token_use"].(string); ok {
		// ASCII case only: strings.EqualFold took "acceſs", with a long
		// s, for the one kind this allows.
		if !ascii.EqualFold(s, "access_token") && !ascii.EqualFold(s, "access") {
			return fmt.Sprintf("a token of token_use %q", truncateForLog(s, 32))
		}
	}
	return ""
}

// senderConstrained says why a token is bound to a key its client must
// prove it holds, "" when it is a plain bearer token: a cnf claim (RFC 7800;
// jkt for DPoP, RFC 9449 §6, x5t#S256 for mutual TLS, RFC 8705 §3.1), or
// the token_type DPoP that introspection gives for one (RFC 9449 §6.2). The
// gateway checks no such proof, so it refuses such a token presented as a
// bearer token (RFC 9449 §7.1, RFC 8705 §3): whoever stole it must not be
// able to use it at the gateway without the key.
func senderConstrained(claims map[string]any) string {
	if _, ok := claims["cnf"]; ok {
		return "the token is bound to a key (cnf), and no proof of it is checked"
	}
	if t, ok := claims["token_type"].(string); ok && strings.EqualFold(t, "DPoP") {
		return "the token is DPoP-bound, and no proof is checked"
	}
	return ""
}
