package proxy

import (
	"errors"
	"net/http"
	"strings"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// identify establishes the request's identity (docs/requests.md, identity): a bearer
// token, which never falls back to the cookie, else the session.
func (h *Handler) identify(ex *exchange, r *http.Request) error {
	// Where credentials come from is checked before any is read, and for
	// Explain too: its hypothetical identity stands for them.
	authz := r.Header["Authorization"]
	if err := credentialPlacement(authz, r.URL.RawQuery); err != nil {
		return err
	}
	if ex.explain != nil {
		// Explain: the hypothetical identity is what credentials would
		// have established, after the same checks of where they come from.
		ex.id = ex.explain.id
		return nil
	}
	if len(authz) == 1 {
		if tok, ok := bearerToken(authz[0]); ok {
			return h.identifyBearer(ex, r, tok)
		}
	}
	return h.identifySession(ex, r)
}

// identifySession establishes the identity of the request's session, if
// one: loaded, refreshed when near expiry, its groups read again when due,
// and with its access token when the headers need it. A request without a
// live session has none, and ex.staleCookie says whether it brought one.
func (h *Handler) identifySession(ex *exchange, r *http.Request) error {
	s, err := h.cfg.Sessions.Load(r)
	if errors.Is(err, session.ErrNoSession) {
		ex.staleCookie = h.carriesSessionCookie(r)
		ex.foreignCookie = errors.Is(err, session.ErrForeignCookie)
		return nil
	}
	if err != nil {
		return storeUnavailable(err)
	}
	if s, err = h.fresh(ex, r, s); err != nil {
		return storeUnavailable(err)
	}
	if s != nil {
		if s, err = h.freshGroups(ex, r, s); err != nil {
			return storeUnavailable(err)
		}
	}
	if s == nil {
		ex.staleCookie = true // ended by the refresh or directory read
		return nil
	}
	full, err := h.withAccessToken(r, s)
	if err != nil {
		return storeUnavailable(err)
	}
	ex.staleCookie = full == nil
	if full != nil {
		// The identity stays the store's copy's even when the session was
		// read again for its access token: that copy is the same on every
		// request until the stored session changes, and keys the
		// identity-values cache (a fresh read each time signed an assertion
		// per request). A changed session, a refresh's token included, is a
		// new copy (the cookie changed, or Redis's value did).
		ex.sess, ex.id = full, &s.Identity
	}
	return nil
}

// storeUnavailable is the 503 of a session that could not be loaded,
// refreshed or read again.
func storeUnavailable(err error) *httpError {
	return unavailable("the session store is not available; please retry shortly", err)
}

// carriesSessionCookie reports whether r has a cookie of the session
// store's, so that a request refused for having no live session says
// whether it came with one: one that ended (signed out, revoked, logged
// out by the provider, expired) is not a browser that never signed in.
// Only the names are read, only on this unauthenticated path. A login's
// state cookie, which the store owns too, is no session's: a browser in
// the middle of its first sign-in never had one.
func (h *Handler) carriesSessionCookie(r *http.Request) bool {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if h.cfg.Sessions.Owns(name) && !h.states.Owns(name) {
				return true
			}
		}
	}
	return false
}

// withAccessToken returns s with its access token when the access-token
// header is configured and the store's copy of s left it out (a store not
// told to keep it, session.StoreOptions.KeepAccessToken): nil when the
// session ended meanwhile. Otherwise s as it is: the hot path.
func (h *Handler) withAccessToken(r *http.Request, s *session.Session) (*session.Session, error) {
	if h.names.accessToken == "" || s.AccessToken != "" || !s.Elided() {
		return s, nil
	}
	full, err := h.cfg.Sessions.Full(r, s)
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil
	}
	return full, err
}

func (h *Handler) identifyBearer(ex *exchange, r *http.Request, tok string) error {
	if tok == "" {
		return invalidToken(errors.New("empty bearer token"))
	}
	id, err := h.verifier.VerifyBearer(r.Context(), tok)
	if err != nil {
		switch {
		case errors.Is(err, idp.ErrNotReady):
			return unavailable("the identity provider is not available yet", err)
		case errors.Is(err, idp.ErrUnavailable):
			return unavailable("the identity provider could not check the token; please retry shortly", err)
		}
		return invalidToken(err)
	}
	if id == nil {
		return invalidToken(errors.New("provider returned no identity"))
	}
	ex.id, ex.bearer = id, tok
	return nil
}

// bearerToken returns the token of an "Authorization: Bearer" value (RFC
// 6750 §2.1; the scheme is case-insensitive).
func bearerToken(v string) (string, bool) {
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' {
		// "Bearer:tok", "Bearer\ttok": a bearer token was presented, badly;
		// it is refused as invalid rather than ignored in favour of the
		// cookie (docs/requests.md: no fallback).
		return "", true
	}
	return strings.TrimLeft(rest, " "), true
}

// credentialPlacement refuses (400 invalid_request) the credentials the
// gateway refuses by where they come (docs/requests.md), whatever the route decides: more
// than one Authorization header (RFC 9110 allows one; an application, or a
// proxy before it, may read the first, the last or both joined) and an
// access_token in the query string. Proxy mode checks it on every routed
// request and forward-auth on every original request, a public route's
// and an unmatched path's included, so that neither mode forwards what the
// other refuses; identify checks it for the gateway endpoints that read
// credentials. A form body's token is left to the routes that read
// credentials: a public route may take a form_post response's access_token.
func credentialPlacement(authz []string, query string) error {
	if len(authz) > 1 {
		return badRequest("more than one Authorization header", nil)
	}
	if hasAccessTokenParam(query) {
		return badRequest("access tokens are not accepted in the query string", nil)
	}
	return nil
}

// hasAccessTokenParam reports whether a query string or form body names
// the parameter access_token (RFC 6750 §2.2 and §2.3, refused: docs/requests.md),
// however the name is percent-encoded (%61ccess%5Ftoken) or spelt for the
// frameworks ("access.token" and "access token" are access_token to PHP,
// "access_token[]" to Rack: isParamName) and whether parameters are
// separated by & or ;. Malformed escapes are kept as they are (PHP's
// urldecode) rather than refused.
func hasAccessTokenParam(s string) bool {
	// A raw long s or Kelvin sign is an s or k to the frameworks that fold
	// names (asciiFold): "acceſs_token" holds no "access".
	if !containsFold(s, "access") && strings.IndexByte(s, '%') < 0 && !strings.ContainsAny(s, asciiFoldRunes) {
		return false
	}
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '&' || c == ';' }) {
		name, _, _ := strings.Cut(part, "=")
		// Decoded as PHP decodes it (lenientUnescape), not refused whole
		// for one malformed escape: "access_token%00%zz" is access_token.
		if isParamName(lenientUnescape(name), accessTokenParam) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the ASCII word sub in any case,
// without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
