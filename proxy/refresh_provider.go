package proxy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// refreshAtProvider redeems s's refresh token and returns the refreshed
// session: new tokens and expiry, the same lifetime.
func (h *Handler) refreshAtProvider(ctx context.Context, s *session.Session) (*session.Session, error) {
	t, id, err := h.verifier.Refresh(ctx, s.RefreshToken, &s.Identity)
	var unconfirmed int64
	if err == nil && id == nil {
		unconfirmed, err = h.unconfirmedSince(s)
	}
	if err != nil {
		if errors.Is(err, idp.ErrInvalidGrant) {
			h.metrics.refresh("invalid_grant")
		} else {
			h.metrics.refresh("failed")
		}
		h.log.Info("proxy: refresh failed", subAttr(s.Identity.Subject), logattr.Err(err))
		return nil, err
	}
	h.metrics.refresh("succeeded")
	ns := s.Clone()
	ns.AccessToken = t.AccessToken
	if t.RefreshToken != "" {
		ns.RefreshToken = t.RefreshToken
	}
	// The ID token of the sign-in stays the id_token_hint (providers accept
	// an expired hint, RP-Initiated Logout 1.0 §4): it carries the nonce
	// that marks it an ID token. One issued at a refresh need not (OIDC
	// Core 12.2), so with the default audiences it would pass as a bearer
	// access token, and the hint is put in a URL that browsers and
	// providers log.
	if ns.IDToken == "" {
		ns.IDToken = t.IDToken
	}
	ns.Expiry = h.refreshedExpiry(s.Expiry, t.Expiry)
	if id != nil {
		ns.Identity = *id
	}
	ns.UnconfirmedSince = unconfirmed
	if !t.GroupsReadAt.IsZero() {
		// Groups now read from the directory (Entra ID: a groups overage
		// since the sign-in): read again every groups_refresh.
		ns.GroupsReadAt, ns.GroupsTriedAt = t.GroupsReadAt, time.Time{}
	}
	if len(t.Scopes) > 0 {
		ns.Identity.Scopes = t.Scopes
	} else if id != nil {
		ns.Identity.Scopes = s.Identity.Scopes
	}
	return ns, nil
}

// unconfirmedMax bounds how long a session keeps an identity its refreshes
// could not derive again (idp.Client.Refresh's nil identity: userinfo, the
// JWKS or the directory not answering, or the directory throttling): as
// with groupsMaxStale, a failure that lasts, or that the user keeps up
// (Graph's and GitHub's rate limits are the user's own), must not keep a
// withdrawn group, role or address until session.lifetime.
const unconfirmedMax = groupsMaxStale

// unconfirmedSince is when s's identity went unconfirmed, now for a
// refresh that is the first to leave it so. Once that is longer ago than
// unconfirmedMax the refresh fails as one the provider could not answer
// (ErrUnavailable): the session ends when its access token expires, as
// before refreshes were kept through such failures.
func (h *Handler) unconfirmedSince(s *session.Session) (int64, error) {
	now := h.now()
	since := now
	if s.UnconfirmedSince != 0 {
		since = time.Unix(s.UnconfirmedSince, 0)
	}
	if now.Sub(since) > unconfirmedMax {
		return 0, fmt.Errorf("%w: refresh: the identity could not be derived again since %s, over %s",
			idp.ErrUnavailable, since.UTC().Format(time.RFC3339), unconfirmedMax)
	}
	return since.Unix(), nil
}

// refreshedExpiry is the expiry of a refreshed access token: the one the
// provider stated, else, when the token it replaces had one, now plus
// unstatedAccessLife (or twice refresh_margin). Without it, a provider
// that states expires_in at the sign-in but not at refreshes left the
// session unrefreshed, and unrevocable, to its lifetime.
func (h *Handler) refreshedExpiry(prev, stated time.Time) time.Time {
	if !stated.IsZero() || prev.IsZero() {
		return stated
	}
	return h.now().Add(max(unstatedAccessLife, 2*h.cfg.RefreshMargin))
}
