package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

const (
	// refreshTimeout bounds how long a request waits on the provider for a
	// refresh (issue 4: no request waits more than a few seconds).
	refreshTimeout = 5 * time.Second
	// refreshReuse is how long a refreshed session is handed to requests
	// that still carry the cookie it replaced, so that a rotated refresh
	// token is never presented twice.
	refreshReuse = 30 * time.Second
	// formPeek is how much of a form-encoded body is read to look for an
	// access_token parameter (RFC 6750 §2.2).
	formPeek = 64 << 10
)

// SessionRevoker is a session store that can end every session of a subject
// or of a provider session id, for back-channel logout. *session.RedisStore
// implements it; the cookie store cannot.
type SessionRevoker interface {
	DeleteBySubject(ctx context.Context, sub string) (int, error)
	DeleteBySID(ctx context.Context, sid string) (int, error)
}

// sessionLocker is a session store that offers a short lock across replicas,
// so that one replica refreshes a session at a time.
type sessionLocker interface {
	Lock(ctx context.Context, id string, ttl time.Duration) (unlock func(), acquired bool, err error)
}

// identify establishes the request's identity (SPEC §3 Identity): a bearer
// token, which never falls back to the cookie, else the session. It returns
// the request to continue with (its body may have been wrapped).
func (h *Handler) identify(ex *exchange, r *http.Request) (*http.Request, error) {
	authz := r.Header["Authorization"]
	if len(authz) > 1 {
		return r, badRequest("more than one Authorization header", nil)
	}
	if hasAccessTokenParam(r.URL.RawQuery) {
		return r, badRequest("access tokens are not accepted in the query string", nil)
	}
	r, err := tokenInForm(r)
	if err != nil {
		return r, err
	}
	if len(authz) == 1 {
		if tok, ok := bearerToken(authz[0]); ok {
			return r, h.identifyBearer(ex, r, tok)
		}
	}
	s, err := h.cfg.Sessions.Load(r)
	if errors.Is(err, session.ErrNoSession) {
		return r, nil
	}
	if err != nil {
		return r, unavailable("the session store is not available; please retry shortly", err)
	}
	if s = h.fresh(ex, r, s); s != nil {
		ex.sess, ex.id = s, &s.Identity
	}
	return r, nil
}

func (h *Handler) identifyBearer(ex *exchange, r *http.Request, tok string) error {
	if tok == "" {
		return invalidToken(errors.New("empty bearer token"))
	}
	id, err := h.cfg.Provider.VerifyBearer(r.Context(), tok)
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
		// cookie (SPEC §3: no fallback).
		return "", true
	}
	return strings.TrimLeft(rest, " "), true
}

// tokenInForm refuses a form-encoded body that carries access_token (RFC
// 6750 §2.2 is not accepted, SPEC §3). It reads at most formPeek bytes and
// puts them back in front of the rest of the body.
func tokenInForm(r *http.Request) (*http.Request, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" || !strings.Contains(strings.ToLower(ct), "x-www-form-urlencoded") {
		return r, nil
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return r, nil
	}
	// Read what the body has, up to formPeek: no 64 KiB buffer for a
	// small form.
	buf, err := io.ReadAll(io.LimitReader(r.Body, formPeek))
	if err != nil {
		return r, badRequest("the request body could not be read", err)
	}
	body := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), body), body}
	if hasAccessTokenParam(string(buf)) {
		return r, badRequest("access tokens are not accepted in the request body", nil)
	}
	return r, nil
}

// hasAccessTokenParam reports whether a query string or form body names
// the parameter access_token (RFC 6750 §2.2 and §2.3, refused by SPEC §3),
// however the name is percent-encoded (%61ccess%5Ftoken) and whether
// parameters are separated by & or ;. Malformed escapes are compared as
// they are rather than refused.
func hasAccessTokenParam(s string) bool {
	if !containsFold(s, "access") && strings.IndexByte(s, '%') < 0 {
		return false
	}
	for _, part := range strings.FieldsFunc(s, func(c rune) bool { return c == '&' || c == ';' }) {
		name, _, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if strings.EqualFold(strings.TrimSpace(name), "access_token") {
			return true
		}
	}
	return false
}

// refresher single-flights refreshes per session and remembers recent
// results for a short time.
type refresher struct {
	group  singleflight.Group
	mu     sync.Mutex
	recent map[string]recentRefresh
}

type recentRefresh struct {
	prevAT string // the access token of the session the refresh replaced
	s      *session.Session
	at     time.Time
}

// fresh returns s, refreshed when its access token is within RefreshMargin
// of expiry (issue 4), or nil when the session no longer yields an
// identity: the refresh token was refused (the session is then deleted), or
// the access token has expired and could not be refreshed.
func (h *Handler) fresh(ex *exchange, r *http.Request, s *session.Session) *session.Session {
	if s.Expiry.IsZero() {
		return s
	}
	now := h.now()
	if now.Add(h.cfg.RefreshMargin).Before(s.Expiry) {
		return s
	}
	expired := !now.Before(s.Expiry)
	if !h.cfg.Refresh || s.RefreshToken == "" {
		if expired {
			return nil
		}
		return s
	}
	ns, err := h.refresh(ex, r, s)
	switch {
	case err == nil:
		return ns
	case errors.Is(err, idp.ErrInvalidGrant):
		if derr := h.cfg.Sessions.Delete(ex, r); derr != nil {
			h.log.Warn("proxy: deleting a session whose refresh was refused failed", "err", derr)
		}
		return nil
	case expired:
		return nil
	default:
		return s // provider unreachable; the access token is still valid
	}
}

// refresh refreshes s once per session however many requests ask at the
// same time (singleflight in this process, the store's lock across
// replicas), bounded by refreshTimeout.
func (h *Handler) refresh(ex *exchange, r *http.Request, s *session.Session) (*session.Session, error) {
	key := s.ID
	if key == "" {
		key = "rt:" + s.RefreshToken
	}
	if ns := h.refresher.lookup(key, s.AccessToken, h.now()); ns != nil {
		h.saveRefreshed(ex, r, ns)
		return ns, nil
	}
	leader, stored := false, false
	v, err, _ := h.refresher.group.Do(key, func() (any, error) {
		leader = true
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), refreshTimeout)
		defer cancel()
		ns, err := h.refreshOnce(ctx, r, s, func(ns *session.Session) {
			h.saveRefreshed(ex, r, ns)
			stored = true
		})
		if err == nil {
			h.refresher.remember(key, s.AccessToken, ns, h.now())
		}
		return ns, err
	})
	if err != nil {
		return nil, err
	}
	ns := v.(*session.Session)
	if (leader && !stored) || ns.ID == "" {
		h.saveRefreshed(ex, r, ns)
	}
	return ns, nil
}

// refreshOnce does the provider call, under the store's lock when it has
// one. Under the lock, the refreshed session is saved (save) before the
// lock is released: otherwise another replica could take the lock in
// between, still load the old session and present its refresh token, which
// a provider that rotates refresh tokens refuses with invalid_grant.
func (h *Handler) refreshOnce(ctx context.Context, r *http.Request, s *session.Session, save func(*session.Session)) (*session.Session, error) {
	if l, ok := h.cfg.Sessions.(sessionLocker); ok && s.ID != "" {
		unlock, acquired, err := l.Lock(ctx, s.ID, refreshTimeout)
		if err != nil {
			h.metrics.refresh("failed")
			return nil, err
		}
		if !acquired {
			return h.awaitRefresh(ctx, r, s)
		}
		defer unlock()
		// Another replica may have refreshed the session between our Load
		// and our lock: its refresh token may be spent already.
		cur, err := h.cfg.Sessions.Load(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			return nil, idp.ErrInvalidGrant // ended elsewhere meanwhile
		case err != nil:
			h.metrics.refresh("failed")
			return nil, err
		case cur.AccessToken != s.AccessToken:
			return cur, nil
		}
		ns, err := h.refreshAtProvider(ctx, s)
		if err == nil {
			save(ns)
		}
		return ns, err
	}
	return h.refreshAtProvider(ctx, s)
}

// refreshAtProvider redeems s's refresh token and returns the refreshed
// session: new tokens and expiry, the same lifetime.
func (h *Handler) refreshAtProvider(ctx context.Context, s *session.Session) (*session.Session, error) {
	t, id, err := h.cfg.Provider.Refresh(ctx, s.RefreshToken, &s.Identity)
	if err != nil {
		if errors.Is(err, idp.ErrInvalidGrant) {
			h.metrics.refresh("invalid_grant")
		} else {
			h.metrics.refresh("failed")
		}
		h.log.Info("proxy: refresh failed", "sub", s.Identity.Subject, "err", err)
		return nil, err
	}
	h.metrics.refresh("succeeded")
	ns := s.Clone()
	ns.AccessToken = t.AccessToken
	if t.RefreshToken != "" {
		ns.RefreshToken = t.RefreshToken
	}
	if t.IDToken != "" {
		ns.IDToken = t.IDToken
	}
	ns.Expiry = t.Expiry
	if id != nil {
		ns.Identity = *id
	}
	if len(t.Scopes) > 0 {
		ns.Identity.Scopes = t.Scopes
	} else if id != nil {
		ns.Identity.Scopes = s.Identity.Scopes
	}
	return ns, nil
}

// awaitRefresh waits for another replica's refresh of s to land in the
// store, polling the request's session until its access token changes.
func (h *Handler) awaitRefresh(ctx context.Context, r *http.Request, s *session.Session) (*session.Session, error) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		ns, err := h.cfg.Sessions.Load(r)
		if errors.Is(err, session.ErrNoSession) {
			return nil, idp.ErrInvalidGrant // the other replica ended it
		}
		if err == nil && ns.AccessToken != s.AccessToken {
			return ns, nil
		}
	}
}

func (h *Handler) saveRefreshed(ex *exchange, r *http.Request, s *session.Session) {
	if err := h.cfg.Sessions.Save(ex, r, s); err != nil {
		h.log.Warn("proxy: saving a refreshed session failed", "sub", s.Identity.Subject, "err", err)
	}
}

// lookup returns the session a recent refresh of key produced, but only to a
// request that still carries the session it replaced (access token prevAT):
// a session refreshed since then needs a refresh of its own.
func (f *refresher) lookup(key, prevAT string, now time.Time) *session.Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.recent[key]
	if !ok {
		return nil
	}
	if now.Sub(e.at) > refreshReuse {
		delete(f.recent, key)
		return nil
	}
	if e.prevAT != prevAT {
		return nil
	}
	return e.s
}

func (f *refresher) remember(key, prevAT string, s *session.Session, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recent == nil {
		f.recent = make(map[string]recentRefresh)
	}
	for k, e := range f.recent {
		if now.Sub(e.at) > refreshReuse {
			delete(f.recent, k)
		}
	}
	f.recent[key] = recentRefresh{prevAT: prevAT, s: s, at: now}
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
