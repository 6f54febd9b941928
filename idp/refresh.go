package idp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/logattr"
	"golang.org/x/oauth2"
)

// Refresh uses a refresh token (RFC 6749 §6). A refused grant, or an
// identity whose sub or iss changed from prev, returns an error wrapping
// ErrInvalidGrant; network errors are returned as they are, so the caller
// can keep a session whose access token is still valid. Once the provider
// has answered, a failure to read the identity (unconfirmedRefresh) returns
// the new tokens with a nil identity: the caller keeps prev's.
func (c *Client) Refresh(ctx context.Context, refreshToken string, prev *portcullis.Identity) (*Tokens, *portcullis.Identity, error) {
	m := c.meta.Load()
	if m == nil {
		return nil, nil, ErrNotReady
	}
	tok, err := c.tokenRequest(m, func(conf *oauth2.Config) (*oauth2.Token, error) {
		return conf.TokenSource(c.providerCtx(ctx, "token"), &oauth2.Token{RefreshToken: refreshToken}).Token()
	})
	if err != nil {
		err = c.tokenError(err, refreshToken)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, nil, fmt.Errorf("%w: %v", ErrInvalidGrant, err)
		}
		return nil, nil, fmt.Errorf("idp: refresh: %w", err)
	}
	if err := checkTokenResponse(tok, false); err != nil {
		return nil, nil, fmt.Errorf("idp: refresh: %w", err)
	}
	var prevScopes []string
	if prev != nil {
		prevScopes = prev.Scopes
	}
	// Omitted, the scope is the one granted before (RFC 6749 §6).
	out, _ := c.tokens(tok, prevScopes)
	if out.RefreshToken == "" {
		out.RefreshToken = refreshToken
	}
	id, err := c.refreshedIdentity(ctx, m, out, prev)
	if errors.Is(err, ErrInvalidGrant) {
		c.revokeRefused(ctx, out.RefreshToken)
		return nil, nil, err
	}
	if err == nil {
		err = c.refreshGroups(ctx, id, prev, out)
	}
	switch {
	case err != nil && providerOutage(err):
		return c.unconfirmedRefresh(out, err), nil, nil
	case err != nil:
		return nil, nil, err
	}
	id.Scopes = out.Scopes
	return out, id, nil
}

// providerOutage reports whether err, a failure to derive a refreshed
// identity, is the provider or its directory not answering for a moment
// (ErrUnavailable: a transport error or a 5xx; a directory's outage or
// throttle), not an answer: an answer refused (an identity the sign-in
// would refuse, a 403, groups unfit for a header) still fails the refresh,
// and so does a redirect, which getJSON wraps in ErrUnavailable but which
// is an answer (a sign-in page for a token not taken). The user's own
// directory reads over their budget are no outage either: they are the
// user's doing, and kept as one they would keep the sign-in's groups (one
// just withdrawn) for an hour, as groups_refresh reads no longer do.
func providerOutage(err error) bool {
	var de *DirectoryError
	if errors.Is(err, ErrRedirect) || errors.Is(err, ErrUserReadBudget) {
		return false
	}
	return errors.Is(err, ErrUnavailable) || (errors.As(err, &de) && de.Outage())
}

// unconfirmedRefresh returns the tokens of a refresh the provider answered
// whose identity could not be derived again for want of the provider (err:
// a userinfo or directory read that failed, the JWKS not answering for the
// key of a refreshed ID token), without that ID token, which is not
// verified. The provider has spent the refresh token presented: dropping
// the answer left the session holding it, and the next refresh, with the
// provider back, was refused (invalid_grant) and ended the session, an
// outage of a second turned into a sign-out. The identity is not re-derived
// until the next refresh: the caller keeps the session's (a nil identity),
// as when only userinfo cannot be read (refreshedUserinfoClaims), and
// bounds how long it does (proxy's unconfirmedMax).
func (c *Client) unconfirmedRefresh(out *Tokens, err error) *Tokens {
	c.log.Warn("idp: the identity of a refresh could not be read; the session keeps its identity until the next refresh",
		logattr.Err(err))
	out.IDToken = ""
	out.GroupsReadAt = time.Time{}
	return out
}

// refusedRevokeTimeout bounds the revocation of a refresh token issued in
// an answer whose identity was refused: no longer than a sign-out's
// revocation, whose HTTP client allows 10 s.
const refusedRevokeTimeout = 5 * time.Second

// revokeRefused revokes (RFC 7009) the refresh token of a refresh answer
// whose identity Refresh refused (another sub or iss, a userinfo for
// another subject, an ID token that does not verify, an identity the
// sign-in would refuse). The provider issued it, and rotated away the one
// presented: the session ends here, but the grant stayed alive at the
// provider, whoever holds the token, as a sign-out would not leave it.
// The caller's deadline may be spent on the refresh; the revocation gets
// its own bound.
func (c *Client) revokeRefused(ctx context.Context, refreshToken string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refusedRevokeTimeout)
	defer cancel()
	if err := c.Revoke(ctx, refreshToken); err != nil {
		c.log.Warn("idp: revoking the refresh token of a refused refresh failed", logattr.Err(err))
	}
}

// signInClaims describe the sign-in that a refresh continues (OIDC Core 2,
// 12.2; Back-Channel Logout 1.0 §2.1), not the user: a refreshed ID token
// that leaves them out keeps the sign-in's. The nonce is kept so that a
// later refreshed ID token that carries one is compared with it
// (sameSignIn).
var signInClaims = []string{"sid", "auth_time", "acr", "amr", "nonce"}

// refreshedIdentity re-derives the identity after a refresh. A new ID token
// is verified like at login except the nonce (OIDC Core 12.2), must name
// the same sub and iss, and is completed from userinfo as at login: it is
// what the provider states now, so no claim of the sign-in is carried over
// but signInClaims. Providers leave out a groups or roles claim that would
// be empty (Entra ID, Keycloak, GitLab): filled in from the sign-in, it
// would keep a user removed from their last group in it until
// session.lifetime. Without a new ID token, userinfo is read instead
// (identityWithoutIDToken).
func (c *Client) refreshedIdentity(ctx context.Context, m *metadata, out *Tokens, prev *portcullis.Identity) (*portcullis.Identity, error) {
	if !c.isOIDC() {
		return c.refreshedOAuthIdentity(ctx, m, out.AccessToken, prev)
	}
	if out.IDToken == "" {
		return c.identityWithoutIDToken(ctx, m, out.AccessToken, prev)
	}
	vt, err := c.verifyRefreshedIDToken(ctx, m, out)
	if err != nil {
		return nil, err
	}
	// The same sign-in before userinfo is read with the new access token.
	if err := c.sameSignIn(vt, prev); err != nil {
		return nil, err
	}
	names, err := c.refreshedUserinfoClaims(ctx, m, out.AccessToken, vt, prev)
	if err != nil {
		return nil, err
	}
	prevClaims := prevClaimsOf(prev)
	for _, k := range signInClaims {
		if v, ok := prevClaims[k]; ok {
			if _, has := vt.claims[k]; !has {
				vt.claims[k] = v
			}
		}
	}
	return c.refreshedClaims(vt.claims, vt.token.Issuer, names)
}

// verifyRefreshedIDToken verifies a refresh's new ID token. One signed with
// a key the JWKS could not be fetched for (a rotation during a provider
// outage) is the provider not reachable, which ends no session while its
// access token is valid, nor revokes what may be the session's own refresh
// token: the next refresh verifies again. Any other failure refuses the
// grant.
func (c *Client) verifyRefreshedIDToken(ctx context.Context, m *metadata, out *Tokens) (*verifiedJWT, error) {
	kctx, keys := withKeysUnavailable(ctx)
	vt, err := c.verifyIDToken(kctx, m, out.IDToken, out.AccessToken)
	if err != nil {
		if keys.err != nil {
			return nil, fmt.Errorf("%w: refresh: the ID token's key could not be fetched: %w", ErrUnavailable, err)
		}
		return nil, fmt.Errorf("%w: refreshed %v", ErrInvalidGrant, err)
	}
	return vt, nil
}

// refreshedUserinfoClaims completes the refreshed ID token's claims from
// userinfo, as at login, and returns the names userinfo stated. Userinfo
// naming another subject refuses the grant; one that cannot be read
// leaves the sign-in's userinfo claims standing.
func (c *Client) refreshedUserinfoClaims(ctx context.Context, m *metadata, accessToken string, vt *verifiedJWT, prev *portcullis.Identity) ([]string, error) {
	names, err := c.completeFromUserinfo(ctx, m, accessToken, vt.claims)
	if err == nil {
		return names, nil
	}
	if errors.Is(err, errUserinfoSubject) {
		return nil, fmt.Errorf("%w: refreshed %v", ErrInvalidGrant, err)
	}
	// The provider has issued the new tokens and may have rotated the
	// refresh token, so failing here would end the session at the
	// access token's expiry: the refresh stands, the sign-in's
	// userinfo claims fill what the new ID token lacks, and the next
	// refresh reads userinfo again. A claim only the ID token stated
	// is the new one's to state: one it leaves out (a groups claim
	// left out when empty) is not filled in.
	c.log.Warn("idp: userinfo could not be read at a refresh; the sign-in's claims stand until the next one", logattr.Err(err))
	names = prevNames(prev)
	mergeMissing(vt.claims, userinfoClaimsOf(prevClaimsOf(prev), names), c.cfg.EmailClaim)
	return names, nil
}

// refreshedOAuthIdentity is refreshedIdentity for a plain OAuth 2.0
// provider: the claims are read again with the new access token and must
// name the sign-in's subject. A read that fails is an outage; claims read
// are the provider's word, and an identity the sign-in would refuse
// refuses the grant.
func (c *Client) refreshedOAuthIdentity(ctx context.Context, m *metadata, accessToken string, prev *portcullis.Identity) (*portcullis.Identity, error) {
	claims, err := c.oauthClaims(ctx, m, accessToken)
	if err != nil {
		return nil, err
	}
	id, err := c.refreshedClaims(claims, "", nil)
	if err != nil {
		return nil, err
	}
	if prev != nil && id.Subject != prev.Subject {
		return nil, fmt.Errorf("%w: subject changed from %q to %q", ErrInvalidGrant, prev.Subject, id.Subject)
	}
	return id, nil
}

// sameSignIn refuses the grant when a refreshed ID token names another sub
// or iss than the sign-in's (prev; nil: nothing to compare), or carries a
// nonce other than the sign-in's (OIDC Core 12.2). The sign-in's sub is its
// sub claim, or its Subject when user_claim is sub.
func (c *Client) sameSignIn(vt *verifiedJWT, prev *portcullis.Identity) error {
	if prev == nil {
		return nil
	}
	prevSub, _ := prev.Claims["sub"].(string)
	if prevSub == "" && c.cfg.UserClaim == "sub" {
		prevSub = prev.Subject
	}
	if prevSub != "" && vt.claims["sub"] != prevSub {
		return fmt.Errorf("%w: sub changed from %q to %v", ErrInvalidGrant, prevSub, vt.claims["sub"])
	}
	if prev.Issuer != "" && c.canonicalIssuer(vt.token.Issuer) != c.canonicalIssuer(prev.Issuer) {
		return fmt.Errorf("%w: iss changed from %q to %q", ErrInvalidGrant, prev.Issuer, vt.token.Issuer)
	}
	// A nonce is optional here, but one present is the sign-in's (12.2).
	// go-oidc refuses one that is not a string.
	_, has := vt.claims["nonce"]
	if prevNonce, known := prev.Claims["nonce"].(string); has && known && vt.token.Nonce != prevNonce {
		return fmt.Errorf("%w: the refreshed ID token's nonce is not the sign-in's", ErrInvalidGrant)
	}
	return nil
}

// refreshedClaims derives a refreshed identity from its claims. One the
// sign-in would refuse (hosted_domain no longer met, the address no longer
// verified with user_claim = "email", a claim unfit for its header) refuses
// the grant: the session ends, and does not serve the sign-in's identity
// until its access token expires.
// names is what userinfo stated (portcullis.Identity.UserinfoClaims).
func (c *Client) refreshedClaims(claims map[string]any, iss string, names []string) (*portcullis.Identity, error) {
	id, err := c.identity(claims, iss)
	if err != nil {
		return nil, fmt.Errorf("%w: refreshed identity: %w", ErrInvalidGrant, err)
	}
	id.UserinfoClaims = names
	return id, nil
}

// idTokenOnly are the claims a refresh without an ID token keeps from the
// sign-in's, whatever userinfo states: they are about the ID token and the
// sign-in, not the user.
var idTokenOnly = map[string]bool{"sub": true, "iss": true, "aud": true, "azp": true, "exp": true, "iat": true,
	"nbf": true, "jti": true, "nonce": true, "at_hash": true, "c_hash": true,
	"sid": true, "auth_time": true, "acr": true, "amr": true}

// identityWithoutIDToken re-derives the identity after a refresh whose
// answer has no ID token (many providers send none, OIDC Core 12.2): the
// claims userinfo states now replace the sign-in's. A claim userinfo stated
// at the last read and leaves out now is gone (Okta and Keycloak leave out
// a groups claim that would be empty); the sign-in's fill in only the rest,
// which userinfo never stated (a groups claim the provider puts only in the
// ID token stays the sign-in's). A userinfo for another sub refuses the
// refresh (ErrInvalidGrant); one that cannot be read leaves the sign-in's
// claims, read again at the next refresh, as after a refreshed ID token.
func (c *Client) identityWithoutIDToken(ctx context.Context, m *metadata, accessToken string, prev *portcullis.Identity) (*portcullis.Identity, error) {
	var prevClaims map[string]any
	iss := c.cfg.Issuer
	if prev != nil {
		prevClaims = prev.Claims
		if prev.Issuer != "" {
			iss = prev.Issuer
		}
	}
	names, fill := prevNames(prev), prevClaims
	claims := make(map[string]any, len(prevClaims))
	if ui, err := c.refreshedUserinfo(ctx, m, accessToken, prevClaims["sub"]); err != nil {
		if errors.Is(err, errUserinfoSubject) {
			return nil, fmt.Errorf("%w: refreshed %v", ErrInvalidGrant, err)
		}
		c.log.Warn("idp: userinfo could not be read at a refresh; the sign-in's claims stand until the next one", logattr.Err(err))
	} else if ui != nil {
		for k, v := range ui {
			if !idTokenOnly[k] && !shadowsNested(prevClaims, k) {
				claims[k] = v
			}
		}
		fill = claimsNotOf(prevClaims, names)
		names = userinfoNames(ui)
	}
	mergeMissing(claims, fill, c.cfg.EmailClaim)
	return c.refreshedClaims(claims, iss, names)
}

// refreshedUserinfo reads userinfo for a refresh without an ID token: nil
// when the provider has none or the sign-in named no sub to compare with.
func (c *Client) refreshedUserinfo(ctx context.Context, m *metadata, accessToken string, sub any) (map[string]any, error) {
	if m.userinfoURL == "" || sub == nil {
		return nil, nil
	}
	ui, err := c.userinfo(ctx, m.userinfoURL, accessToken, "application/json")
	if err != nil {
		return nil, err
	}
	if ui["sub"] != sub {
		return nil, fmt.Errorf("%w: userinfo sub %v does not match the sign-in's %v", errUserinfoSubject, ui["sub"], sub)
	}
	return ui, nil
}

// shadowsNested reports whether k is a dotted member name (userinfo's
// "realm_access.roles") that claim settings and rules would find before
// the path it names in claims: userinfo never replaces a claim that way.
func shadowsNested(claims map[string]any, k string) bool {
	if strings.IndexByte(k, '.') < 0 {
		return false
	}
	_, found := portcullis.LookupClaim(claims, k)
	return found
}

// userinfoNames returns the names of the claims userinfo answer ui states,
// sorted, but those idTokenOnly keeps from the ID token.
func userinfoNames(ui map[string]any) []string {
	names := make([]string, 0, len(ui))
	for k := range ui {
		if !idTokenOnly[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}

// prevClaimsOf returns the sign-in's claims, nil without one.
func prevClaimsOf(prev *portcullis.Identity) map[string]any {
	if prev == nil {
		return nil
	}
	return prev.Claims
}

// prevNames is prev's UserinfoClaims; nil without prev.
func prevNames(prev *portcullis.Identity) []string {
	if prev == nil {
		return nil
	}
	return prev.UserinfoClaims
}

// userinfoClaimsOf returns the claims of claims named in names: what
// userinfo stated at the last read. With names nil (not known: a session
// made before they were recorded) it is all of claims, as before.
func userinfoClaimsOf(claims map[string]any, names []string) map[string]any {
	if names == nil {
		return claims
	}
	out := make(map[string]any, len(names))
	for _, k := range names {
		if v, ok := claims[k]; ok {
			out[k] = v
		}
	}
	return out
}

// claimsNotOf returns the claims of claims not named in names: those
// userinfo did not state at the last read.
func claimsNotOf(claims map[string]any, names []string) map[string]any {
	if len(names) == 0 {
		return claims
	}
	out := make(map[string]any, len(claims))
	for k, v := range claims {
		if !slices.Contains(names, k) {
			out[k] = v
		}
	}
	return out
}
