package proxy

import (
	"log/slog"
	"time"

	"github.com/portcullis/portcullis/session"
)

// warnNoRefreshToken warns, once per configuration, of a sign-in whose
// provider issued no refresh token while session.refresh is on and the
// access token expires: the session then ends with that access token, an
// hour in at Google and Entra ID, not at session.lifetime. Users are sent
// to sign in again every hour and nothing said why: Google without
// access_type=offline (or without prompt=consent after a user's first
// consent), Entra ID, Okta or Auth0 without the offline_access scope.
func (h *Handler) warnNoRefreshToken(s *session.Session) {
	if !h.cfg.Refresh || s.RefreshToken != "" || s.Expiry.IsZero() {
		return
	}
	h.noRefreshWarn.Do(func() {
		h.log.Warn("proxy: the provider issued no refresh token at a sign-in, so the session ends when its access token expires, "+
			"not at session.lifetime; ask for offline access (provider.kind = \"google\" or \"entra\"; "+
			"the offline_access scope at most other providers), or set session.refresh = false where the provider never issues one; "+
			"said once per configuration",
			subAttr(s.Identity.Subject), slog.Duration("access_token_for", s.Expiry.Sub(h.now()).Round(time.Second)))
	})
}
